package web

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

type sessionsView struct {
	Items             []charging.Session
	Station, Status   string
	Account, NextPage string
}

func (c *Console) sessionsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := sessionsView{Station: q.Get("station_id"), Status: q.Get("status"), Account: q.Get("account_id")}
	f := map[string]string{}
	for k, val := range map[string]string{"station_id": v.Station, "status": v.Status, "account_id": v.Account} {
		if val != "" {
			f[k] = val
		}
	}
	err := c.app.Store.View(r.Context(), func(tx store.Tx) (err error) {
		v.Items, err = lastN(r.Context(), tx.Sessions(), store.Query{Filter: f}, 100, "started_at")
		return err
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "sessions.html", "Sessions", v)
}

// ownSession reads a session the signed-in user may see: any for staff, only their own for a
// purchaser (another purchaser's session is "not found", not "forbidden": its existence is
// not theirs to learn).
func (c *Console) ownSession(ctx context.Context, id string) (*charging.Session, error) {
	var s *charging.Session
	err := c.app.Store.View(ctx, func(tx store.Tx) (err error) { s, err = tx.Sessions().Get(ctx, id); return })
	if err != nil {
		return nil, err
	}
	me := sessionFrom(ctx)
	if account.RoleRank(me.Role) == 0 && (me.AccountID == "" || s.AccountID != me.AccountID) {
		return nil, errs.E(errs.NotFound, "no session %s", id)
	}
	return s, nil
}

type sessionView struct {
	S        charging.Session
	Chart    chart
	Readings int
}

func (c *Console) sessionPage(w http.ResponseWriter, r *http.Request) {
	s, err := c.ownSession(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var rs []charging.Reading
	if err := c.app.Store.View(r.Context(), func(tx store.Tx) (err error) { rs, err = tx.Readings(r.Context(), s.ID); return }); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "session.html", "Session "+s.ID, sessionView{S: *s, Chart: meterChart(s, rs), Readings: len(rs)})
}

func (c *Console) receiptPage(w http.ResponseWriter, r *http.Request) {
	s, err := c.ownSession(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	rec, err := c.app.Receipt(r.Context(), s.ID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "receipt.html", "Receipt "+s.ID, rec)
}
