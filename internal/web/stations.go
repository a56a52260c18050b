package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// lastN returns the newest n records matching q (ids sort by creation time), newest first.
func lastN[T any](ctx context.Context, r store.Repo[T], q store.Query, n int, newest string) ([]T, error) {
	// One page, newest first, off the sort's index: paging through every record to keep the
	// last n took 16 s for the sessions page over 1,000,000 sessions.
	q.Sort, q.Limit, q.Cursor = "-"+newest, n, ""
	items, _, err := r.List(ctx, q)
	return items, err
}

type siteRow struct {
	asset.Site
	Stations int
}

func (c *Console) sitesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var rows []siteRow
	err := c.app.Store.View(ctx, func(tx store.Tx) error {
		n := map[string]int{}
		if err := eachPage(ctx, tx.Stations(), store.Query{}, func(s *asset.Station) { n[s.SiteID]++ }); err != nil {
			return err
		}
		return eachPage(ctx, tx.Sites(), store.Query{}, func(s *asset.Site) { rows = append(rows, siteRow{*s, n[s.ID]}) })
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "sites.html", "Sites", rows)
}

func (c *Console) stationsPage(w http.ResponseWriter, r *http.Request) {
	snap, err := c.snapshot(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "stations.html", "Stations", snap)
}

// stationView is a station's page.
type stationView struct {
	Station    asset.Station
	SiteName   string
	Connected  bool
	Protocol   string
	EVSEs      []asset.EVSE
	Live       []charging.StatusChange
	Active     []charging.Session
	Recent     []charging.Session
	Commands   []charging.Command
	CommandKey string
}

func (c *Console) loadStation(ctx context.Context, id string) (*stationView, error) {
	v := &stationView{}
	err := c.app.Store.View(ctx, func(tx store.Tx) error {
		st, err := tx.Stations().Get(ctx, id)
		if err != nil {
			return err
		}
		v.Station = *st
		if site, err := tx.Sites().Get(ctx, st.SiteID); err == nil {
			v.SiteName = site.Name
		}
		if v.EVSEs, _, err = tx.EVSEs().List(ctx, store.Query{Filter: map[string]string{"station_id": id}, Limit: 100}); err != nil {
			return err
		}
		if v.Live, err = tx.LiveStatus(ctx, id); err != nil {
			return err
		}
		if v.Active, _, err = tx.Sessions().List(ctx, store.Query{Filter: map[string]string{"station_id": id, "status": charging.Active}, Limit: 100}); err != nil {
			return err
		}
		if v.Recent, err = lastN(ctx, tx.Sessions(), store.Query{Filter: map[string]string{"station_id": id}}, 10, "started_at"); err != nil {
			return err
		}
		v.Commands, err = lastN(ctx, tx.Commands(), store.Query{Filter: map[string]string{"station_id": id}}, 10, "created_at")
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.app.Commander != nil {
		v.Protocol, v.Connected = c.app.Commander.Connected(id)
	}
	return v, nil
}

func (c *Console) stationPage(w http.ResponseWriter, r *http.Request) {
	v, err := c.loadStation(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "station.html", "Station "+v.Station.ID, v)
}

// stationLive is the live part of a station's page, re-fetched by the page's script when the
// station reports something.
func (c *Console) stationLive(w http.ResponseWriter, r *http.Request) {
	v, err := c.loadStation(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.fragment(w, r, "station.html", "station_live", v)
}

// command sends an operator command from a station page's forms and shows its outcome there.
func (c *Console) command(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	back := "/stations/" + id
	req := app.CommandRequest{
		Kind:          r.PostFormValue("kind"),
		IdToken:       strings.TrimSpace(r.PostFormValue("id_token")),
		TransactionID: r.PostFormValue("transaction_id"),
		ResetType:     r.PostFormValue("reset_type"),
	}
	switch req.Kind {
	case "remote_start", "remote_stop", "reset", "unlock", "availability":
	default:
		c.flashTo(w, r, back, true, "Unknown command "+strconv.Quote(req.Kind))
		return
	}
	var err error
	if req.EVSENo, err = formInt(r, "evse_no"); err == nil {
		req.ConnectorNo, err = formInt(r, "connector_no")
	}
	if err != nil {
		c.flashTo(w, r, back, true, errs.Message(err))
		return
	}
	if op := r.PostFormValue("operative"); op != "" {
		b := op == "true"
		req.Operative = &b
	}
	cmd, err := c.app.SendCommand(r.Context(), id, req)
	switch {
	case errs.Is(err, errs.NotFound):
		c.fail(w, r, err)
	case errs.Is(err, errs.Forbidden):
		c.fail(w, r, err)
	case cmd == nil && err != nil:
		c.flashTo(w, r, back, true, req.Kind+": "+errs.Message(err))
	case err != nil:
		c.flashTo(w, r, back, true, req.Kind+" failed: "+cmd.Error)
	case cmd.Error != "":
		c.flashTo(w, r, back, true, req.Kind+": the station answered "+cmd.Error)
	default:
		c.flashTo(w, r, back, false, req.Kind+": Accepted")
	}
}

func formInt(r *http.Request, field string) (int, error) {
	s := strings.TrimSpace(r.PostFormValue(field))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errs.Field(field, "must be a whole number")
	}
	return n, nil
}
