package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
)

// Reading ahead for the sessions a batch ends (store.SessionRef.Ending). Ending a session
// reads its meter readings (to rate it), its postings (the hold to settle) and its account's
// balance under lock: three look-ups a stop, a statement each. PrefetchSessions reads them
// for the whole batch, a statement each (per rowsPerStmt sessions; the locks per writeRows
// accounts), and the transaction answers from them (BenchmarkInbound, 500 stations: 1.19 →
// 1.04 statements a message):
//
//   - readAhead.readings: the stored readings of each session read ahead. Readings written
//     later in the transaction are added as they are written (writeReadings), so the list stays
//     what the table holds; the ones still held back are added by Readings, as before.
//   - readAhead.posts: the stored postings of each reference read ahead, kept the same way
//     (Post and flushPosts add what they write).
//   - the balances go into tx.locked, as Ledger().Lock leaves them.
type readAhead struct {
	readings map[string][]charging.Reading // session id → stored readings
	posts    map[string][]account.LedgerTx // ref → stored postings
}

// prefetchEnding reads ahead for the refs marked Ending whose session this transaction can
// name without a statement: from SQLite's active-session cache or the sessions just read ahead.
// It reads what app.endBilling will: the readings of a session with a tariff (to rate it), and
// the postings and locked balance of one paid from its account. A session it cannot name, or
// one rated before, is left to the look-ups of its own.
func (t *tx) prefetchEnding(ctx context.Context, refs []store.SessionRef) error {
	var rated, paid, accounts []string
	seen := map[string]bool{}
	for _, ref := range refs {
		if !ref.Ending {
			continue
		}
		s, ok := t.peekSession(ref.StationID, ref.TxRef)
		if !ok || seen[s.ID] || s.CDRID != "" {
			continue
		}
		seen[s.ID] = true
		if _, done := t.ahead.readings[s.ID]; !done && s.TariffID != "" {
			rated = append(rated, s.ID)
		}
		if s.AccountID == "" || s.AuthStatus != account.AuthAccepted || s.HeldMinor < 0 {
			continue
		}
		if _, done := t.ahead.posts[s.ID]; !done {
			paid = append(paid, s.ID)
		}
		if _, locked := t.locked[s.AccountID]; !locked && !seen[s.AccountID] && !strings.HasPrefix(s.AccountID, SystemPrefix) {
			seen[s.AccountID] = true
			accounts = append(accounts, s.AccountID)
		}
	}
	// The accounts are locked before their postings are read, as settling a session alone
	// does: on PostgreSQL no posting to them can then commit between the read and the use.
	if err := t.lockAccounts(ctx, accounts); err != nil {
		return err
	}
	if err := t.readAheadPosts(ctx, paid); err != nil {
		return err
	}
	return t.readAheadReadings(ctx, rated)
}

// endingFields are the fields of a session that prefetchEnding goes by.
type endingFields struct {
	ID, AccountID, TariffID, CDRID string
	AuthStatus                     string
	HeldMinor                      int64
}

func endingOf(s *charging.Session) endingFields {
	return endingFields{s.ID, s.AccountID, s.TariffID, s.CDRID, s.AuthStatus, s.HeldMinor}
}

// peekSession is what this transaction knows of the session of a station's transaction
// without a statement.
func (t *tx) peekSession(stationID, txRef string) (endingFields, bool) {
	if t.pendingFor(stationID, txRef) {
		return endingFields{}, false
	}
	k := sessionKey(stationID, txRef)
	if c := t.db.active; c != nil && t.writer {
		if v := t.touched[k]; v != nil {
			return endingOf(v), true
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if v := c.m[k]; v != nil {
			return endingOf(v), true
		}
		return endingFields{}, false
	}
	if v := t.prefetched[k]; v != nil {
		return endingOf(v), true
	}
	return endingFields{}, false
}

// inList is " IN (?, …)" over ids padded to prefetchRows with the last: a few statement texts.
func inList(ids []string) (string, []any) {
	n := prefetchRows(len(ids))
	args := make([]any, n)
	for i := range n {
		args[i] = ids[min(i, len(ids)-1)]
	}
	return " IN (" + strings.Repeat("?, ", n-1) + "?)", args
}

func (t *tx) readAheadReadings(ctx context.Context, ids []string) error {
	if t.ahead.readings == nil {
		t.ahead.readings = make(map[string][]charging.Reading, len(ids))
	}
	for _, id := range ids {
		t.ahead.readings[id] = nil // read, and none stored unless the query finds some
	}
	for from := 0; from < len(ids); from += rowsPerStmt {
		in, args := inList(ids[from:min(from+rowsPerStmt, len(ids))])
		rows, err := t.q.QueryContext(ctx, t.db.rebind("SELECT session_id, station_id, evse_no, at, measurand, phase, location, context, unit, value_milli FROM meter_readings WHERE session_id"+in+" ORDER BY session_id, at"), args...)
		if err != nil {
			return t.db.mapErr("read readings ahead", err)
		}
		for rows.Next() {
			var r charging.Reading
			var at int64
			if err := rows.Scan(&r.SessionID, &r.StationID, &r.EVSENo, &at, &r.Measurand, &r.Phase, &r.Location, &r.Context, &r.Unit, &r.Milli); err != nil {
				rows.Close()
				return t.db.mapErr("read readings ahead", err)
			}
			r.At = time.UnixMicro(at).UTC()
			t.ahead.readings[r.SessionID] = append(t.ahead.readings[r.SessionID], r)
		}
		if err := rows.Close(); err != nil {
			return t.db.mapErr("read readings ahead", err)
		}
		if err := rows.Err(); err != nil {
			return t.db.mapErr("read readings ahead", err)
		}
	}
	return nil
}

// aheadReadings is the stored readings of a session read ahead, as a copy in the table's
// order, and whether it was read ahead.
func (t *tx) aheadReadings(sessionID string) ([]charging.Reading, bool) {
	rs, ok := t.ahead.readings[sessionID]
	if !ok {
		return nil, false
	}
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b charging.Reading) int { return a.At.Compare(b.At) })
	return out, true
}

// wroteReadings adds readings just written to the lists read ahead.
func (t *tx) wroteReadings(rs []charging.Reading) {
	if t.ahead.readings == nil {
		return
	}
	for _, r := range rs {
		if list, ok := t.ahead.readings[r.SessionID]; ok {
			r.At = time.UnixMicro(micros(r.At)).UTC() // as stored
			t.ahead.readings[r.SessionID] = append(list, r)
		}
	}
}

func (t *tx) readAheadPosts(ctx context.Context, refs []string) error {
	if t.ahead.posts == nil {
		t.ahead.posts = make(map[string][]account.LedgerTx, len(refs))
	}
	for _, ref := range refs {
		t.ahead.posts[ref] = nil
	}
	for from := 0; from < len(refs); from += rowsPerStmt {
		in, args := inList(refs[from:min(from+rowsPerStmt, len(refs))])
		rows, err := t.q.QueryContext(ctx, t.db.rebind("SELECT data FROM ledger_transactions WHERE ref"+in+" ORDER BY created_at, id"), args...)
		if err != nil {
			return t.db.mapErr("read postings ahead", err)
		}
		for rows.Next() {
			var data string
			if err := rows.Scan(&data); err != nil {
				rows.Close()
				return t.db.mapErr("read postings ahead", err)
			}
			lt, err := decodeLedgerTx(data)
			if err != nil {
				rows.Close()
				return err
			}
			if list, ok := t.ahead.posts[lt.Ref]; ok {
				t.ahead.posts[lt.Ref] = append(list, lt)
			}
		}
		if err := rows.Close(); err != nil {
			return t.db.mapErr("read postings ahead", err)
		}
		if err := rows.Err(); err != nil {
			return t.db.mapErr("read postings ahead", err)
		}
	}
	return nil
}

// aheadPosts is the stored postings of a reference read ahead, as copies in the table's
// order (created_at, id), and whether it was read ahead.
func (t *tx) aheadPosts(ref string) ([]account.LedgerTx, bool) {
	list, ok := t.ahead.posts[ref]
	if !ok {
		return nil, false
	}
	out := make([]account.LedgerTx, len(list))
	for i, lt := range list {
		lt.Entries = slices.Clone(lt.Entries)
		out[i] = lt
	}
	sortPostings(out)
	return out, true
}

// wrotePost adds a posting just written to its reference's list read ahead.
func (t *tx) wrotePost(lt *account.LedgerTx) {
	if list, ok := t.ahead.posts[lt.Ref]; ok {
		c := *lt
		c.Entries = slices.Clone(lt.Entries)
		t.ahead.posts[lt.Ref] = append(list, c)
	}
}

// sortPostings puts postings in the table's order for ByRef.
func sortPostings(lts []account.LedgerTx) {
	slices.SortStableFunc(lts, func(a, b account.LedgerTx) int {
		return cmp.Or(cmp.Compare(micros(a.At), micros(b.At)), cmp.Compare(a.ID, b.ID))
	})
}

// lockAccounts is Ledger().Lock for several accounts, in one statement per writeRows of
// them and in account order (the order flushLedger takes the same rows in).
func (t *tx) lockAccounts(ctx context.Context, ids []string) error {
	slices.Sort(ids)
	for from := 0; from < len(ids); {
		k := writeRows(len(ids) - from)
		args := make([]any, 0, k)
		for _, id := range ids[from : from+k] {
			args = append(args, id)
		}
		q := "INSERT INTO account_balances (account_id, balance) VALUES " + strings.Repeat("(?, 0), ", k-1) +
			"(?, 0) ON CONFLICT (account_id) DO UPDATE SET balance = account_balances.balance RETURNING account_id, balance"
		rows, err := t.q.QueryContext(ctx, t.db.rebind(q), args...)
		if err != nil {
			return t.db.mapErr("lock accounts", err)
		}
		if t.locked == nil {
			t.locked = make(map[string]int64, len(ids))
		}
		for rows.Next() {
			var id string
			var bal int64
			if err := rows.Scan(&id, &bal); err != nil {
				rows.Close()
				return t.db.mapErr("lock accounts", err)
			}
			t.locked[id] = bal + t.pendBalances[id] // postings not yet written count
		}
		if err := rows.Close(); err != nil {
			return t.db.mapErr("lock accounts", err)
		}
		if err := rows.Err(); err != nil {
			return t.db.mapErr("lock accounts", err)
		}
		from += k
	}
	return nil
}
