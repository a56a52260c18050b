package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
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
	v, err := r.repo.Get(ctx, id)
	if err == nil {
		r.remember(v)
	}
	return v, err
}

func (r sessionRepo) GetBy(ctx context.Context, field, value string) (*charging.Session, error) {
	v, err := r.repo.GetBy(ctx, field, value)
	if err == nil {
		r.remember(v)
	}
	return v, err
}

func (r sessionRepo) List(ctx context.Context, q store.Query) ([]charging.Session, string, error) {
	items, next, err := r.repo.List(ctx, q)
	for i := range items {
		r.remember(&items[i])
	}
	return items, next, err
}

func (r sessionRepo) Create(ctx context.Context, v *charging.Session) error {
	err := r.repo.Create(ctx, v)
	if err == nil {
		r.remember(v)
		r.tx.touch(v)
	}
	return err
}

func (r sessionRepo) Update(ctx context.Context, v *charging.Session) error {
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
	data := string(raw)
	vals := nullEmpty(sessions.vals(v))
	var b strings.Builder
	b.WriteString("UPDATE sessions SET updated_at = ?, data = ?")
	args := make([]any, 0, 4+len(vals))
	args = append(args, micros(v.UpdatedAt), data)
	if v.Status != old.status {
		b.WriteString(", status = ?")
		args = append(args, v.Status)
	}
	for i, c := range sessions.cols {
		if vals[i] != old.vals[i] {
			b.WriteString(", " + c + " = ?")
			args = append(args, vals[i])
		}
	}
	b.WriteString(" WHERE id = ?")
	args = append(args, v.ID)
	res, err := r.q.ExecContext(ctx, r.db.rebind(b.String()), args...)
	if err != nil {
		return r.db.mapErr("update session", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "session %q not found", v.ID)
	}
	r.tx.sessions[v.ID] = sessionCols{status: v.Status, vals: vals}
	r.tx.touch(v)
	return nil
}

// SessionByTx finds a station's session by its OCPP transaction id: every meter value and
// transaction event does, so on SQLite an active one comes from the active-session cache.
func (t *tx) SessionByTx(ctx context.Context, stationID, txRef string) (*charging.Session, error) {
	r := t.Sessions().(sessionRepo)
	if v := t.cachedSession(stationID, txRef); v != nil {
		r.remember(v)
		return v, nil
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
	if t.db.active == nil || !t.writer {
		return nil
	}
	k := sessionKey(stationID, txRef)
	if v, ok := t.touched[k]; ok {
		if v.Status != charging.Active {
			return nil // ended in this transaction: read it as stored
		}
		return v.Clone()
	}
	c := t.db.active
	c.mu.Lock()
	v := c.m[k]
	c.mu.Unlock()
	if v == nil {
		return nil
	}
	return v.Clone()
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
