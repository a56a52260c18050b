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
	starts   map[string]string             // sessionKey(station, start key) → session id, "" if none (sessions.go)
	noTx     map[string]bool               // sessionKey(station, transaction) read ahead and not stored (sessions.go)
}

// prefetchEnding reads ahead for the refs marked Ending whose session this transaction can
// name without a statement: from SQLite's active-session cache or the sessions just read ahead.
// It reads what app.endBilling will: the readings of a session with a tariff (to rate it), and
// the postings and locked balance of one paid from its account. A session it cannot name, or
// one rated before, is left to the look-ups of its own. It also locks the accounts of the
// refs that may start a session (IdToken), as app.authorizeIn will, in the same statement.
func (t *tx) prefetchEnding(ctx context.Context, refs []store.SessionRef) error {
	var rated, paid, accounts []string
	seen := map[string]bool{}
	lock := func(id string) {
		if _, locked := t.locked[id]; !locked && !seen[id] {
			seen[id] = true
			accounts = append(accounts, id)
		}
	}
	for _, ref := range refs {
		if ref.IdToken != "" {
			if id := t.tokenAccount(ctx, ref.IdToken); id != "" {
				lock(id)
			}
		}
		if !ref.Ending {
			continue
		}
		s := t.peekSession(ref.StationID, ref.TxRef)
		if s == nil || seen[s.ID] || s.CDRID != "" {
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
		lock(s.AccountID)
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

// tokenAccount is the account of the id token uid (from the master-data cache, as authorizing
// the start will read it), or "" for a token not known.
func (t *tx) tokenAccount(ctx context.Context, uid string) string {
	tok, err := t.IdTokens().GetBy(ctx, "uid", uid)
	if err != nil {
		return ""
	}
	return tok.AccountID
}

// peekSession is the session of a station's transaction as this transaction knows it without
// a statement (SQLite's active-session cache, or the sessions read ahead), not a copy: to read,
// not to keep or change. nil when it does not know it.
func (t *tx) peekSession(stationID, txRef string) *charging.Session {
	if t.pendingFor(stationID, txRef) {
		return nil
	}
	k := sessionKey(stationID, txRef)
	if v := t.activeSession(k); v != nil {
		return v
	}
	return t.prefetched[k]
}

// KeyedOnly: see store.Tx. On PostgreSQL, for the rest of the transaction, a whole-table scan
// is the planner's last resort and no statement starts parallel workers: one statement, the
// transaction's first (set_config with is_local true lasts, like SET LOCAL, until its end).
func (t *tx) KeyedOnly(ctx context.Context) error {
	if t.db.d.Name != "postgres" || t.autocommit {
		return nil
	}
	const q = "SELECT set_config('enable_seqscan', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)"
	if t.pipe != nil {
		// Queued (pipe.go): it goes ahead of the transaction's next statements, in their
		// round trip, and its failure is theirs.
		t.queueExec("plan by key", q, nil, nil)
		return nil
	}
	return t.later(ctx, "plan by key", q, nil, nil)
}

// queryIn runs head + " IN (?, …)" + tail over ids, rowsPerStmt of them a statement
// (queryPadded), and calls scan for each row.
func (t *tx) queryIn(ctx context.Context, op, head, tail string, ids []string, scan func(rowScanner) error) error {
	return t.queryPadded(ctx, op, len(ids), func(args []any, i int) []any { return append(args, ids[i]) },
		func(n int) string { return inList(head, tail, n) }, scan)
}

// inList is head + " IN (?, …)" + tail with n placeholders.
func inList(head, tail string, n int) string {
	return head + " IN (" + strings.Repeat("?, ", n-1) + "?)" + tail
}

// The readings of sessions read ahead: readingsAheadHead IN (…) readingsAheadTail.
const (
	readingsAheadHead = "SELECT session_id, " + readingCols + " FROM meter_readings WHERE session_id"
	readingsAheadTail = " ORDER BY session_id, at"
)

// queryPadded runs a query over a list of n items, rowsPerStmt of them a statement, and calls
// scan for each row: text(k) is the statement for k items, and item(args, i) appends item i's
// arguments. Each list is padded to prefetchRows with its last item, so that a few statement
// texts serve every batch size, as for the sessions read ahead.
func (t *tx) queryPadded(ctx context.Context, op string, n int, item func(args []any, i int) []any, text func(k int) string, scan func(rowScanner) error) error {
	for from := 0; from < n; from += rowsPerStmt {
		m := min(rowsPerStmt, n-from)
		k := prefetchRows(m)
		var args []any
		for i := range k {
			args = item(args, from+min(i, m-1))
		}
		if err := t.laterQuery(ctx, op, text(k), args, scan); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) readAheadReadings(ctx context.Context, ids []string) error {
	if t.ahead.readings == nil {
		t.ahead.readings = make(map[string][]charging.Reading, len(ids))
	}
	for _, id := range ids {
		t.ahead.readings[id] = nil // read, and none stored unless the query finds some
	}
	return t.queryIn(ctx, "read readings ahead", readingsAheadHead, readingsAheadTail, ids,
		func(rows rowScanner) error {
			var r charging.Reading
			if err := scanReading(rows, &r, &r.SessionID); err != nil {
				return err
			}
			t.ahead.readings[r.SessionID] = append(t.ahead.readings[r.SessionID], r)
			return nil
		})
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
	return t.queryIn(ctx, "read postings ahead", "SELECT data FROM ledger_transactions WHERE ref", " ORDER BY created_at, id", refs,
		func(rows rowScanner) error {
			lt, err := scanPosting(rows)
			if err != nil {
				return err
			}
			if list, ok := t.ahead.posts[lt.Ref]; ok {
				t.ahead.posts[lt.Ref] = append(list, lt)
			}
			return nil
		})
}

// aheadPosts is the stored postings of a reference read ahead, as copies in the table's
// order (created_at, id), and whether it was read ahead.
func (t *tx) aheadPosts(ref string) ([]account.LedgerTx, bool) {
	list, ok := t.ahead.posts[ref]
	if !ok {
		return nil, false
	}
	out := make([]account.LedgerTx, len(list))
	for i := range list {
		out[i] = clonePosting(&list[i])
	}
	sortPostings(out)
	return out, true
}

// wrotePost adds a posting just written to its reference's list read ahead.
func (t *tx) wrotePost(lt *account.LedgerTx) {
	if list, ok := t.ahead.posts[lt.Ref]; ok {
		t.ahead.posts[lt.Ref] = append(list, clonePosting(lt))
	}
}

// sortPostings puts postings in the table's order for ByRef.
func sortPostings(lts []account.LedgerTx) {
	slices.SortStableFunc(lts, func(a, b account.LedgerTx) int {
		return cmp.Or(cmp.Compare(micros(a.At), micros(b.At)), cmp.Compare(a.ID, b.ID))
	})
}

// PrefetchToken reads ahead what authorizing the id token uid in a read (app.Authorize, a
// View) reads: the master-data versions, which the cache needs before its first answer, and
// the balance of the token's account. They were two statements, a round trip each on
// PostgreSQL and the two largest rows of /debug/statements under the load tool. When the cache
// names the token's account, at whatever version it loaded the token, one statement reads the
// versions and that balance. The versions then decide, as always, whether the cached token
// stands; if it does not and the token now names another account, Balance reads that one.
func (t *tx) PrefetchToken(ctx context.Context, uid string) error {
	if t.writer || t.verLoaded || t.verErr {
		return nil // a write transaction's balances move with its postings (Balance)
	}
	d, ok := t.db.md.tables[cIdTokens].peek(mdKey("uid", uid))
	tok, _ := d.val.(*account.IdToken)
	if !ok || tok == nil || tok.AccountID == "" || strings.HasPrefix(tok.AccountID, SystemPrefix) {
		return nil
	}
	rows, err := t.q.QueryContext(ctx, t.db.rebind(versionsQuery+" UNION ALL SELECT CAST(? AS TEXT), balance FROM account_balances WHERE account_id = ?"), balanceRow, tok.AccountID)
	if err != nil {
		return t.db.mapErr("read ahead for authorizing", err)
	}
	bal := int64(0) // no row: no posting yet
	t.loadVersions(rows, func(name string, v int64) {
		if name == balanceRow {
			bal = v
		}
	})
	if t.verLoaded {
		t.viewBalances = map[string]int64{tok.AccountID: bal}
	}
	return nil
}

// balanceRow names PrefetchToken's balance row among the versions (no table's name).
const balanceRow = ""
