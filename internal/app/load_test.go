package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	chg "github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// profileRecorder is a StationCommander that accepts every command and keeps the charging
// profiles it was asked to set.
type profileRecorder struct {
	mu   sync.Mutex
	reqs []app.CommandRequest
	ids  []string
}

func (r *profileRecorder) Command(_ context.Context, stationID string, req app.CommandRequest) (string, json.RawMessage, string, error) {
	r.mu.Lock()
	r.reqs, r.ids = append(r.reqs, req), append(r.ids, stationID)
	r.mu.Unlock()
	return "SetChargingProfile", json.RawMessage(`{"status":"Accepted"}`), "Accepted", nil
}

func (r *profileRecorder) Connected(string) (string, bool) { return "ocpp2.0.1", true }

// take returns and forgets what was recorded: purpose → "station/evse" → limit.
func (r *profileRecorder) take() map[string]map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[string]float64{}
	for i, q := range r.reqs {
		if out[q.Purpose] == nil {
			out[q.Purpose] = map[string]float64{}
		}
		out[q.Purpose][fmt.Sprintf("%s/%d", r.ids[i], q.EVSENo)] = *q.Limit
	}
	r.reqs, r.ids = nil, nil
	return out
}

// waitEvent waits for the next bus event of kind.
func waitEvent(t *testing.T, ch <-chan app.Event, kind string) app.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

// TestLoadManager: ten 22 kW sessions under a 100 kW site get 10 kW TxProfiles from one
// debounced re-allocation; five stop and the rest go up to 20 kW; a booted station gets its
// failsafe TxDefaultProfiles; small meter changes push nothing.
func TestLoadManager(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		rec := &profileRecorder{}
		f.a.Commander = rec
		limit := energy.KW(100_000)
		site, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Depot", TimeZone: "Europe/Amsterdam"})
		if err != nil {
			t.Fatal(err)
		}
		grid, err := app.Create(bg, f.a, app.Nodes, asset.NodeFields{SiteID: site.ID, Kind: asset.NodeGrid, Name: "Grid", LimitKW: &limit})
		if err != nil {
			t.Fatal(err)
		}
		max22 := energy.KW(22_000)
		var sessions []*chg.Session
		for st := range 2 {
			id := fmt.Sprintf("LM-%d", st)
			if _, err := app.Create(bg, f.a, app.Stations, app.StationInput{ID: id, StationFields: asset.StationFields{SiteID: site.ID, NodeID: grid.ID, Kind: asset.KindAC}}); err != nil {
				t.Fatal(err)
			}
			for e := 1; e <= 5; e++ {
				ev, err := app.Create(bg, f.a, app.EVSEs, asset.EVSEFields{StationID: id, EVSENo: e})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := app.Create(bg, f.a, app.Connectors, asset.ConnectorFields{EVSEID: ev.ID, ConnectorNo: 1, Type: "IEC_62196_T2", MaxPowerKW: &max22, VoltageV: 400, Phases: 3}); err != nil {
					t.Fatal(err)
				}
				sessions = append(sessions, &chg.Session{ID: fmt.Sprintf("ses_%d_%d", st, e), StationID: id, EVSENo: e, TxRef: fmt.Sprint(st*10 + e),
					Kind: chg.KindCharge, Status: chg.Active, StartedAt: t0, UpdatedAt: t0})
			}
		}
		events, stop := f.a.Bus.Subscribe(1024)
		defer stop()
		m := f.a.StartLoad(app.LoadOptions{Debounce: 20 * time.Millisecond, Resync: -1})
		defer m.Stop()
		if f.a.LoadManager() != m || f.a.StartLoad(app.LoadOptions{}) != m {
			t.Fatal("one load manager per App")
		}

		// A station boots: its EVSEs get the failsafe share 100 kW / 10 EVSEs.
		f.a.Bus.Publish(app.Event{Kind: "station.booted", StationID: "LM-0"})
		waitEvent(t, events, app.EventLoadFailsafe)
		if snap := waitEvent(t, events, app.EventLoadAllocated).Data.(*app.SiteLoad); len(snap.Sessions) != 0 || len(snap.Nodes) != 14 {
			t.Fatalf("idle site %+v", snap) // site, grid, 2 stations, 10 EVSEs
		}
		got := rec.take()["TxDefaultProfile"]
		if len(got) != 5 || got["LM-0/3"] != 10_000 {
			t.Fatalf("failsafe profiles %v", got)
		}

		// Ten sessions start in a burst: one allocation, ten TxProfiles of 10 kW.
		if err := f.a.Store.InTx(bg, func(tx store.Tx) error {
			for _, s := range sessions {
				if err := tx.Sessions().Create(bg, s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, s := range sessions {
			f.a.Bus.Publish(app.Event{Kind: "session.started", StationID: s.StationID, Data: s})
		}
		snap := waitEvent(t, events, app.EventLoadAllocated).Data.(*app.SiteLoad)
		tx := rec.take()["TxProfile"]
		if len(tx) != 10 || snap.AllocatedW != 100_000 || len(snap.Sessions) != 10 {
			t.Fatalf("after start: profiles %v, allocated %d, %d sessions", tx, snap.AllocatedW, len(snap.Sessions))
		}
		for k, v := range tx {
			if v != 10_000 {
				t.Errorf("%s limit %v, want 10000", k, v)
			}
		}
		for _, n := range snap.Nodes {
			if n.LimitW != nil && n.AllocatedW > *n.LimitW {
				t.Errorf("node %s allocated %d above %d", n.ID, n.AllocatedW, *n.LimitW)
			}
		}

		// A meter value that moves nothing pushes nothing.
		sessions[0].PowerW = 100
		f.a.Bus.Publish(app.Event{Kind: "session.updated", StationID: sessions[0].StationID, Data: sessions[0]})
		m.Trigger(site.ID)
		waitEvent(t, events, app.EventLoadAllocated)
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("unchanged allocation pushed %v", got)
		}

		// Five stop: the other five go up to 20 kW.
		if err := f.a.Store.InTx(bg, func(tx store.Tx) error {
			for _, s := range sessions[:5] {
				s.Status = chg.Completed
				if err := tx.Sessions().Update(bg, s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, s := range sessions[:5] {
			f.a.Bus.Publish(app.Event{Kind: "session.ended", StationID: s.StationID, Data: s})
		}
		snap = waitEvent(t, events, app.EventLoadAllocated).Data.(*app.SiteLoad)
		tx = rec.take()["TxProfile"]
		if len(tx) != 5 || snap.AllocatedW != 100_000 {
			t.Fatalf("after stop: profiles %v, allocated %d", tx, snap.AllocatedW)
		}
		for k, v := range tx {
			if v != 20_000 {
				t.Errorf("%s limit %v, want 20000", k, v)
			}
		}

		// The API's view and an operator's rebalance (which pushes everything again).
		view, err := m.Site(viewer, site.ID)
		if err != nil || view.AllocatedW != 100_000 || view.Sessions[0].PushedW == nil || *view.Sessions[0].PushedW != 20_000 {
			t.Fatalf("site view %+v %v", view, err)
		}
		if _, err := m.Rebalance(viewer, site.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("viewer rebalance: %v", err)
		}
		if _, err := m.Rebalance(operator, site.ID); err != nil {
			t.Fatal(err)
		}
		if got := rec.take()["TxProfile"]; len(got) != 5 {
			t.Fatalf("rebalance pushed %v", got)
		}
	})
}
