package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

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
	return nil
}

// SessionByTx finds a station's session by its OCPP transaction id.
func (t *tx) SessionByTx(ctx context.Context, stationID, txRef string) (*charging.Session, error) {
	r := t.Sessions().(sessionRepo)
	v, err := r.scan(t.q.QueryRowContext(ctx, t.db.rebind("SELECT data FROM sessions WHERE station_id = ? AND tx_ref = ?"), stationID, txRef))
	if err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "no transaction %s at %s", txRef, stationID)
	}
	if err != nil {
		return nil, t.db.mapErr("get session", err)
	}
	r.remember(v)
	return v, nil
}
