package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// sessionRepo is the sessions table on the OCPP hot path: every meter value reads its session
// by (station, transaction) and writes it back. The generic Update sets every indexed column,
// and SQLite then rewrites every index that has one (a dozen for sessions) though a meter value
// changes only the energy. This repository remembers the columns of each session it read or
// wrote in the transaction and updates only those that changed; the document, status and
// update time are always written.
type sessionRepo struct {
	repo[charging.Session]
	tx *tx
}

func (t *tx) Sessions() store.Repo[charging.Session] {
	return sessionRepo{repo: repo[charging.Session]{t: sessions, db: t.db, q: t.q}, tx: t}
}

// sessionCols are a session's stored column values, as last read or written in a transaction.
type sessionCols struct {
	status string
	vals   []any
}

func (r sessionRepo) remember(v *charging.Session) {
	if r.tx.sessions == nil {
		r.tx.sessions = make(map[string]sessionCols)
	}
	r.tx.sessions[v.ID] = sessionCols{status: v.Status, vals: nullEmpty(sessions.vals(v))}
}

func (r sessionRepo) Get(ctx context.Context, id string) (*charging.Session, error) {
	if err := r.tx.flushSessions(ctx); err != nil {
		return nil, err
	}
	v, err := r.repo.Get(ctx, id)
	if err == nil {
		r.remember(v)
	}
	return v, err
}

func (r sessionRepo) GetBy(ctx context.Context, field, value string) (*charging.Session, error) {
	if err := r.tx.flushSessions(ctx); err != nil {
		return nil, err
	}
	v, err := r.repo.GetBy(ctx, field, value)
	if err == nil {
		r.remember(v)
	}
	return v, err
}

func (r sessionRepo) List(ctx context.Context, q store.Query) ([]charging.Session, string, error) {
	if err := r.tx.flushSessions(ctx); err != nil {
		return nil, "", err
	}
	items, next, err := r.repo.List(ctx, q)
	for i := range items {
		r.remember(&items[i])
	}
	return items, next, err
}

// Create holds the new session back (heldRows), to be inserted with the batch's other new
// sessions at the end of the transaction or before it next reads sessions.
func (r sessionRepo) Create(ctx context.Context, v *charging.Session) error {
	t := r.tx
	sk := sessionKey(v.StationID, v.StartKey)
	if _, dup := t.newStarts[sk]; dup && v.StartKey != "" {
		return &errs.Error{Kind: errs.Conflict, Op: "create session", Msg: "already exists"}
	}
	if err := t.newSessions.hold(sessions, v); err != nil {
		return err
	}
	if v.StartKey != "" {
		delete(t.ahead.starts, sk) // read ahead as not seen: it is now
		if t.newStarts == nil {
			t.newStarts = make(map[string]string)
		}
		t.newStarts[sk] = v.ID
	}
	r.held(v)
	return nil
}

// held records a write of v held back: its columns as the transaction leaves them, the state
// for the active-session cache, and its key for pendingFor.
func (r sessionRepo) held(v *charging.Session) {
	r.tx.holdKey(v)
	r.remember(v)
	r.tx.touch(v)
}

// holdKey records that the transaction holds back a write of v, which a read of it by
// station and transaction must write first (pendingFor).
func (t *tx) holdKey(v *charging.Session) {
	k := sessionKey(v.StationID, v.TxRef)
	delete(t.prefetched, k)
	delete(t.ahead.noTx, k) // read ahead as not stored: it is now
	if t.pendKeys == nil {
		t.pendKeys = make(map[string]bool)
	}
	t.pendKeys[k] = true
}

func (r sessionRepo) Update(ctx context.Context, v *charging.Session) error {
	delete(r.tx.prefetched, sessionKey(v.StationID, v.TxRef))
	// Created in this transaction and not yet written: the insert takes the update.
	if held, err := r.tx.newSessions.rehold(sessions, v); held || err != nil {
		if err == nil {
			r.held(v)
		}
		return err
	}
	old, ok := r.tx.sessions[v.ID]
	if !ok {
		if err := r.repo.Update(ctx, v); err != nil {
			return err
		}
		r.remember(v)
		r.tx.touch(v)
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return errs.Wrap("encode session", err)
	}
	vals := nullEmpty(sessions.vals(v))
	if r.tx.pendSessions == nil {
		r.tx.pendSessions = make(map[string]*pendingSession)
	}
	p := r.tx.pendSessions[v.ID]
	if p == nil {
		p = &pendingSession{id: v.ID}
		r.tx.pendSessions[v.ID] = p
		r.tx.holdKey(v)
	}
	if v.Status != old.status {
		p.dirty |= statusDirty
	}
	for i := range sessions.cols {
		if vals[i] != old.vals[i] {
			p.dirty |= 1 << i
		}
	}
	p.updatedAt, p.data, p.status, p.vals = micros(v.UpdatedAt), string(raw), v.Status, vals
	r.tx.sessions[v.ID] = sessionCols{status: v.Status, vals: vals}
	r.tx.touch(v)
	return nil
}

// pendingSession is an update of a session this transaction read or created, held back to
// the end of the transaction (or to its next read of sessions): a batch of meter values then
// updates its sessions in a statement or two instead of one each.
type pendingSession struct {
	id        string
	updatedAt int64
	data      string
	status    string
	vals      []any  // sessions.cols
	dirty     uint32 // bit i: sessions.cols[i] changed; statusDirty: the status
}

const statusDirty = 1 << 31

// flushSessions writes the held-back new sessions, then the held-back session updates:
// sessions whose updates changed the same columns go together in one UPDATE … FROM a VALUES
// list, in id order (the order concurrent PostgreSQL batches take the rows' locks in).
func (t *tx) flushSessions(ctx context.Context) error {
	clear(t.newStarts)
	clear(t.pendKeys)
	if err := t.newSessions.flush(ctx, t, sessions); err != nil {
		return err
	}
	if len(t.pendSessions) == 0 {
		return nil
	}
	ps := make([]*pendingSession, 0, len(t.pendSessions))
	for _, p := range t.pendSessions {
		ps = append(ps, p)
	}
	clear(t.pendSessions)
	slices.SortFunc(ps, func(a, b *pendingSession) int {
		return cmp.Or(cmp.Compare(a.dirty, b.dirty), strings.Compare(a.id, b.id))
	})
	for len(ps) > 0 {
		n := 1
		for n < len(ps) && n < rowsPerStmt && ps[n].dirty == ps[0].dirty {
			n++
		}
		n = writeRows(n)
		if err := t.updateSessions(ctx, ps[:n]); err != nil {
			return err
		}
		ps = ps[n:]
	}
	return nil
}

// updateSessions updates sessions whose pending updates changed the same columns.
func (t *tx) updateSessions(ctx context.Context, ps []*pendingSession) error {
	dirty := ps[0].dirty
	type col struct{ name, typ string }
	cols := []col{{"updated_at", "BIGINT"}, {"data", "TEXT"}}
	if dirty&statusDirty != 0 {
		cols = append(cols, col{"status", "TEXT"})
	}
	var idx []int
	for i, c := range sessions.cols {
		if dirty&(1<<i) != 0 {
			cols = append(cols, col{c, sessionColTypes[c]})
			idx = append(idx, i)
		}
	}
	row := func(p *pendingSession, args []any) []any {
		args = append(args, p.updatedAt, p.data)
		if dirty&statusDirty != 0 {
			args = append(args, p.status)
		}
		for _, i := range idx {
			args = append(args, p.vals[i])
		}
		return args
	}
	// WITH v(id, …) AS (VALUES …) UPDATE sessions SET … FROM v: types are cast in the first
	// row, as PostgreSQL types a VALUES column from it.
	var b strings.Builder
	args := make([]any, 0, len(ps)*(len(cols)+1))
	b.WriteString("WITH v(id")
	for _, c := range cols {
		b.WriteString(", " + c.name)
	}
	b.WriteString(") AS (VALUES ")
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for j := range len(cols) + 1 {
			if j > 0 {
				b.WriteString(", ")
			}
			switch {
			case i > 0:
				b.WriteString("?")
			case j == 0:
				b.WriteString("CAST(? AS TEXT)")
			default:
				b.WriteString("CAST(? AS " + cols[j-1].typ + ")")
			}
		}
		b.WriteString(")")
		args = row(p, append(args, p.id))
	}
	b.WriteString(") UPDATE sessions SET ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name + " = v." + c.name)
	}
	b.WriteString(" FROM v WHERE sessions.id = v.id")
	return t.later(ctx, "update session", b.String(), args, func(n int64) error {
		if n != int64(len(ps)) {
			return errs.E(errs.NotFound, "%d of %d sessions not found", int64(len(ps))-n, len(ps))
		}
		return nil
	})
}

// sessionColTypes are the SQL types of the sessions columns an update may change.
var sessionColTypes = map[string]string{"station_id": "TEXT", "evse_no": "INTEGER", "tx_ref": "TEXT", "account_id": "TEXT",
	"id_token": "TEXT", "kind": "TEXT", "energy_wh": "BIGINT", "exported_wh": "BIGINT", "start_key": "TEXT", "vehicle_id": "TEXT",
	"tariff_id": "TEXT", "currency": "TEXT", "cost_milli": "BIGINT", "stopped_at": "BIGINT"}

// SessionByTx finds a station's session by its OCPP transaction id: every meter value and
// transaction event does, so on SQLite an active one comes from the active-session cache.
func (t *tx) SessionByTx(ctx context.Context, stationID, txRef string) (*charging.Session, error) {
	r := t.Sessions().(sessionRepo)
	if v := t.cachedSession(stationID, txRef); v != nil {
		r.remember(v)
		return v, nil
	}
	// A copy read ahead is never of a session with an update held back: Update drops the
	// copy, and PrefetchSessions skips such sessions.
	k := sessionKey(stationID, txRef)
	if v, ok := t.prefetched[k]; ok {
		v = v.Clone()
		r.remember(v)
		t.touch(v) // SQLite: into the active-session cache, as when read below
		return v, nil
	}
	if t.ahead.noTx[k] { // read ahead, not stored, and not written since (holdKey)
		return nil, errs.E(errs.NotFound, "no transaction %s at %s", txRef, stationID)
	}
	// Only a held-back update of this very session would make the stored row stale: other
	// sessions' updates stay held, so a batch of meter values without the active-session
	// cache (PostgreSQL) still writes its sessions together at the end.
	if t.pendingFor(stationID, txRef) {
		if err := t.flushSessions(ctx); err != nil {
			return nil, err
		}
	}
	v, err := r.scan(t.q.QueryRowContext(ctx, t.db.rebind("SELECT data FROM sessions WHERE station_id = ? AND tx_ref = ?"), stationID, txRef))
	if err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "no transaction %s at %s", txRef, stationID)
	}
	if err != nil {
		return nil, t.db.mapErr("get session", err)
	}
	r.remember(v)
	t.touch(v)
	return v, nil
}

// PrefetchSessions reads the batch's sessions by (station, transaction) in a statement per
// rowsPerStmt of them, joined to the unique index sessions_tx. On PostgreSQL every meter
// value and stop otherwise looked its session up alone: a round trip each, a fifth of the
// statements under the load tool. SQLite's writer answers most of them from the active-session
// cache, so it reads ahead only the others: chiefly OCPP 2.x transactions starting, whose
// TransactionEvent asks for a session that is not there yet (one statement each, 12,353 in
// 14 s under the load tool with 2.0.1). A transaction read ahead and not found is NotFound to
// SessionByTx until this transaction writes it. Then it reads ahead, for the refs that may
// start a session, whether their start key was seen, and for those marked Ending what ending
// them reads (readahead.go).
//
// Where the engine pipelines (pipe.go), all that is two round trips: the master-data versions
// (which reading the tokens' accounts needs), the sessions and the start keys; then, from the
// sessions found, the account locks, postings and readings.
func (t *tx) PrefetchSessions(ctx context.Context, refs []store.SessionRef) error {
	return t.pipelined(func() error {
		t.readVersionsAhead()
		if err := t.prefetchSessions(ctx, refs); err != nil {
			return err
		}
		if err := t.prefetchStarts(ctx, refs); err != nil {
			return err
		}
		if err := t.sendPipe(); err != nil {
			return err
		}
		return t.prefetchEnding(ctx, refs)
	})
}

func (t *tx) prefetchSessions(ctx context.Context, refs []store.SessionRef) error {
	if len(refs) == 0 {
		return nil
	}
	pairs := make([][2]string, 0, len(refs))
	for _, ref := range refs {
		k := sessionKey(ref.StationID, ref.TxRef)
		if _, ok := t.prefetched[k]; ok || ref.TxRef == "" || t.ahead.noTx[k] || t.pendingFor(ref.StationID, ref.TxRef) || t.activeSession(k) != nil {
			continue
		}
		if t.ahead.noTx == nil {
			t.ahead.noTx = make(map[string]bool)
		}
		t.ahead.noTx[k] = true // read, and not stored unless the query finds it
		pairs = append(pairs, [2]string{ref.StationID, ref.TxRef})
	}
	r := t.Sessions().(sessionRepo)
	return t.queryPairs(ctx, "prefetch sessions", "station_id, tx_ref",
		"SELECT s.data FROM sessions s JOIN v ON s.station_id = v.station_id AND s.tx_ref = v.tx_ref", pairs,
		func(rows rowScanner) error {
			v, err := r.scan(rows)
			if err != nil {
				return err
			}
			if t.prefetched == nil {
				t.prefetched = make(map[string]*charging.Session)
			}
			k := sessionKey(v.StationID, v.TxRef)
			t.prefetched[k] = v
			delete(t.ahead.noTx, k)
			return nil
		})
}

// prefetchRows is the length a prefetch list of n sessions is padded to, with its last one:
// a power of two, or rowsPerStmt. That makes a handful of statement texts rather than one per
// batch size, each prepared once per connection (pgx keeps 512 a connection, and the
// multi-row writes of a batch already vary by row count).
func prefetchRows(n int) int { return min(rowsPerStmt, 1<<bits.Len(uint(n-1))) }

// queryPairs runs query over a list v(cols) of text pairs, "WITH v(cols) AS (VALUES (?, ?), …)
// query", rowsPerStmt pairs a statement (queryPadded), and calls scan for each row. The values
// are cast in every row: PostgreSQL types a VALUES column from its rows.
func (t *tx) queryPairs(ctx context.Context, op, cols, query string, pairs [][2]string, scan func(rowScanner) error) error {
	return t.queryPadded(ctx, op, len(pairs), func(args []any, i int) []any { return append(args, pairs[i][0], pairs[i][1]) },
		func(n int) string {
			return "WITH v(" + cols + ") AS (VALUES " + strings.Repeat("(CAST(? AS TEXT), CAST(? AS TEXT)), ", n-1) +
				"(CAST(? AS TEXT), CAST(? AS TEXT))) " + query
		}, scan)
}

// prefetchStarts reads ahead, for the refs that may start a session (StartKey), whether their
// station's start key was seen before: a statement for the batch, where SessionByStartKey
// asked once per StartTransaction (and nearly always heard no).
func (t *tx) prefetchStarts(ctx context.Context, refs []store.SessionRef) error {
	var pairs [][2]string
	for _, ref := range refs {
		k := sessionKey(ref.StationID, ref.StartKey)
		if _, done := t.ahead.starts[k]; done || ref.StartKey == "" || t.newStarts[k] != "" {
			continue
		}
		if t.ahead.starts == nil {
			t.ahead.starts = make(map[string]string)
		}
		t.ahead.starts[k] = "" // read, and not seen unless the query finds it
		pairs = append(pairs, [2]string{ref.StationID, ref.StartKey})
	}
	return t.queryPairs(ctx, "read start keys ahead", "station_id, start_key",
		"SELECT s.station_id, s.start_key, s.id FROM sessions s JOIN v ON s.station_id = v.station_id AND s.start_key = v.start_key WHERE s.start_key <> ''", pairs,
		func(rows rowScanner) error {
			var station, key, id string
			if err := rows.Scan(&station, &key, &id); err != nil {
				return err
			}
			t.ahead.starts[sessionKey(station, key)] = id
			return nil
		})
}

// startKeyQuery finds a station's session by start key through the unique index
// sessions_start_key. Its last condition, start key not empty, is that partial index's own:
// it lets both planners use the index for a parameter (a prepared statement's generic plan
// on PostgreSQL), and no ORDER BY tempts PostgreSQL into walking the primary key instead. The
// look-up it replaces ("start_key = ? ORDER BY id LIMIT 1") did just that: on PostgreSQL
// every StartTransaction scanned the sessions table, half of the database's time under load.
const startKeyQuery = "SELECT id FROM sessions WHERE station_id = ? AND start_key = ? AND start_key <> ''"

// SessionByStartKey finds a station's session by its start key (NotFound if none). Every 1.6
// StartTransaction asks whether its start key was seen before (a replay) and nearly always
// hears no. A start key is written with its session and never changes, so the answer needs
// no held-back update written first: only a session found is read through Get, which does.
func (t *tx) SessionByStartKey(ctx context.Context, stationID, key string) (*charging.Session, error) {
	if key == "" {
		return nil, errs.E(errs.NotFound, "no session with an empty start key")
	}
	k := sessionKey(stationID, key)
	if id, ok := t.newStarts[k]; ok {
		return t.Sessions().Get(ctx, id) // created in this transaction: Get writes it first
	}
	if id, ok := t.ahead.starts[k]; ok {
		if id == "" {
			return nil, errs.E(errs.NotFound, "no session with start key %q at %s", key, stationID)
		}
		return t.Sessions().Get(ctx, id)
	}
	var id string
	err := t.q.QueryRowContext(ctx, t.db.rebind(startKeyQuery), stationID, key).Scan(&id)
	if err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "no session with start key %q at %s", key, stationID)
	}
	if err != nil {
		return nil, t.db.mapErr("get session", err)
	}
	return t.Sessions().Get(ctx, id)
}

// pendingFor tells whether the transaction holds back a write (the session new, or an update)
// of the station's session with that transaction id.
func (t *tx) pendingFor(stationID, txRef string) bool {
	return t.pendKeys[sessionKey(stationID, txRef)]
}

// activeSessions caches active sessions by station and transaction id for SQLite, where this
// process is the only writer (the node lock keeps a second serve off the file, and the
// CLI's commands never write sessions). Only write transactions, which SQLite runs one at a
// time, use it: a transaction reads the cache, and the commit moves every session the
// transaction read or wrote into it (an ended one out), under the cache's lock, so the next
// write transaction finds them. Readers go to the database. A cached session is never handed
// out: a transaction gets its own copy.
type activeSessions struct {
	mu sync.Mutex
	m  map[string]*charging.Session
}

// maxActiveSessions bounds the cache; beyond it an arbitrary session is dropped (and read
// from the database again when needed).
const maxActiveSessions = 200_000

func sessionKey(stationID, txRef string) string { return stationID + "\x00" + txRef }

// touch records the state a write transaction leaves a session in, for the cache.
func (t *tx) touch(v *charging.Session) {
	if t.db.active == nil || !t.writer {
		return
	}
	if t.touched == nil {
		t.touched = make(map[string]*charging.Session)
	}
	t.touched[sessionKey(v.StationID, v.TxRef)] = v.Clone()
}

// cachedSession is a copy of the session this write transaction last left, or of the cached
// one; nil when neither has it.
func (t *tx) cachedSession(stationID, txRef string) *charging.Session {
	v := t.activeSession(sessionKey(stationID, txRef))
	if v == nil || v.Status != charging.Active {
		return nil // none, or ended in this transaction: read it as stored
	}
	return v.Clone()
}

// activeSession is the session this write transaction last left, or the cached one, by
// sessionKey: not a copy, to read and not to keep or change (the cache replaces its sessions,
// never changes them). nil when neither has it or the cache does not serve this transaction.
func (t *tx) activeSession(k string) *charging.Session {
	c := t.db.active
	if c == nil || !t.writer {
		return nil
	}
	if v, ok := t.touched[k]; ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// putLocked moves a committed transaction's sessions into the cache; c.mu is held.
func (c *activeSessions) putLocked(touched map[string]*charging.Session) {
	for k, v := range touched {
		if v.Status != charging.Active {
			delete(c.m, k)
			continue
		}
		if _, ok := c.m[k]; !ok && len(c.m) >= maxActiveSessions {
			for old := range c.m {
				delete(c.m, old)
				break
			}
		}
		c.m[k] = v
	}
}
