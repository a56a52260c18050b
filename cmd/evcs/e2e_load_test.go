package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// loadSite creates a site whose grid connection is limited to gridKW, stations (AC, 22 kW
// three-phase connectors, evses EVSEs each) hanging off it, and a funded token. It returns the
// site and grid node ids.
func (s *testServer) loadSite(tag string, gridKW, evses int, stations ...string) (string, string) {
	s.t.Helper()
	var site, grid, user obj
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Load depot", "time_zone": "Europe/Amsterdam"}, &site)
	s.must(201, "POST", "/api/v1/nodes", obj{"site_id": site["id"], "kind": "grid", "name": "Grid connection", "limit_kw": gridKW}, &grid)
	for _, id := range stations {
		s.must(201, "POST", "/api/v1/stations", obj{"id": id, "site_id": site["id"], "node_id": grid["id"], "kind": "ac"}, nil)
		for e := 1; e <= evses; e++ {
			var ev obj
			s.must(201, "POST", "/api/v1/stations/"+id+"/evses", obj{"evse_no": e}, &ev)
			s.must(201, "POST", "/api/v1/connectors", obj{"evse_id": ev["id"], "connector_no": 1, "type": "IEC_62196_T2",
				"max_power_kw": 22, "voltage_v": 400, "phases": 3, "current": "AC"}, nil)
		}
	}
	s.must(201, "POST", "/api/v1/users", obj{"name": "Fleet", "email": tag + "@example.com", "role": "purchaser"}, &user)
	acc := user["account_id"].(string)
	s.must(200, "PATCH", "/api/v1/accounts/"+acc, obj{"credit_limit": "1000.00"}, nil)
	s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": tag, "type": "ISO14443", "account_id": acc}, nil)
	return site["id"].(string), grid["id"].(string)
}

// waitLoad waits for a re-allocation of site that satisfies ok.
func waitLoad(t *testing.T, events <-chan app.Event, site string, ok func(*app.SiteLoad) bool) *app.SiteLoad {
	t.Helper()
	deadline := time.After(20 * time.Second)
	var last *app.SiteLoad
	for {
		select {
		case ev := <-events:
			if snap, is := ev.Data.(*app.SiteLoad); is && ev.Kind == app.EventLoadAllocated && snap.SiteID == site {
				last = snap
				if ok(snap) {
					return snap
				}
			}
		case <-deadline:
			t.Fatalf("no allocation as wanted; last %+v", last)
		}
	}
}

// allPushed: every session of the snapshot has n sessions, each with its allocation accepted.
func allPushed(n int, w int64) func(*app.SiteLoad) bool {
	return func(snap *app.SiteLoad) bool {
		if len(snap.Sessions) != n {
			return false
		}
		for _, ls := range snap.Sessions {
			if ls.PushedW == nil || *ls.PushedW != w || ls.AllocatedW != w {
				return false
			}
		}
		return true
	}
}

// TestLoadManagement: a 1.6 and a 2.0.1 simulated station with ten 22 kW sessions (220 kW of
// demand) under a 100 kW grid connection get failsafe and transaction charging profiles that keep
// the site at 100 kW, the simulated power obeys them, and when five sessions stop the other five
// are re-balanced up, still within 100 kW.
func TestLoadManagement(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		const tag = "TAG-LOAD"
		site, _ := s.loadSite(tag, 100, 5, "LOAD-16", "LOAD-201")
		events, unsub := s.M.App.Bus.Subscribe(4096)
		defer unsub()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()

		stations := map[string]*sim.Station{}
		for id, v := range map[string]ocppj.Version{"LOAD-16": ocppj.V16, "LOAD-201": ocppj.V201} {
			cfg := simConfig(s, v, tag)
			cfg.EVSEs = 5
			st, err := sim.NewStation(cfg, id)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if b, err := st.Boot(ctx); err != nil || b.Status != "Accepted" {
				t.Fatalf("boot %+v %v", b, err)
			}
			if err := st.SendStatusAll(ctx); err != nil {
				t.Fatal(err)
			}
			stations[id] = st
		}
		// Each booted station gets its failsafe TxDefaultProfiles (100 kW / 10 EVSEs).
		for seen := map[string]bool{}; len(seen) < 2; {
			select {
			case ev := <-events:
				if ev.Kind == app.EventLoadFailsafe {
					seen[ev.StationID] = true
				}
			case <-ctx.Done():
				t.Fatal("no failsafe profiles")
			}
		}
		for id := range stations {
			var page struct{ Items []obj }
			s.must(200, "GET", "/api/v1/commands?station_id="+id+"&limit=100", nil, &page)
			n := 0
			for _, c := range page.Items {
				if c["action"] == "SetChargingProfile" && c["status"] == "accepted" {
					n++
				}
			}
			if n != 5 {
				t.Fatalf("%s: %d accepted failsafe profiles, want 5: %v", id, n, page.Items)
			}
		}

		txs := map[string]sim.TxInfo{}
		for id, st := range stations {
			for e := 1; e <= 5; e++ {
				tx, err := st.StartCharging(ctx, e, tag)
				if err != nil || tx.AuthStatus != "Accepted" {
					t.Fatalf("%s/%d start %+v %v", id, e, tx, err)
				}
				txs[fmt.Sprintf("%s/%d", id, e)] = tx
			}
		}
		snap := waitLoad(t, events, site, allPushed(10, 10_000))
		checkSiteLoad(t, s, site, snap, 10)
		meterObeys(t, ctx, stations, snap)

		// Five sessions stop: the remaining five get 20 kW each.
		stopped := 0
		for _, st := range []*sim.Station{stations["LOAD-16"], stations["LOAD-201"]} {
			for e := 1; e <= 5 && stopped < 5; e += 2 {
				if _, err := st.StopCharging(ctx, e, "Local"); err != nil {
					t.Fatal(err)
				}
				stopped++
			}
		}
		snap = waitLoad(t, events, site, allPushed(5, 20_000))
		checkSiteLoad(t, s, site, snap, 5)
		if max := meterObeys(t, ctx, stations, snap); max <= 10_000 {
			t.Errorf("after the re-balance no car draws more than the old 10 kW limit (max %d W)", max)
		}

		// An operator's re-balance pushes the same limits again.
		var rb app.SiteLoad
		s.must(200, "POST", "/api/v1/sites/"+site+"/load/rebalance", nil, &rb)
		if rb.AllocatedW != 100_000 || len(rb.Sessions) != 5 {
			t.Fatalf("rebalance %+v", rb)
		}
		for _, st := range stations {
			for e := 1; e <= 5; e++ {
				if _, ok := st.Transaction(e); ok {
					if _, err := st.StopCharging(ctx, e, "Local"); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		waitLoad(t, events, site, func(s *app.SiteLoad) bool { return len(s.Sessions) == 0 && s.AllocatedW == 0 })
	})
}

// checkSiteLoad checks the API's view of the site: n sessions, nothing above a limit, the grid
// at 100 kW.
func checkSiteLoad(t *testing.T, s *testServer, site string, pushed *app.SiteLoad, n int) {
	t.Helper()
	var view app.SiteLoad
	s.must(200, "GET", "/api/v1/sites/"+site+"/load", nil, &view)
	if len(view.Sessions) != n {
		t.Fatalf("GET load: %d sessions, want %d", len(view.Sessions), n)
	}
	var sum int64
	for _, ls := range pushed.Sessions {
		sum += *ls.PushedW
	}
	if sum > 100_000 {
		t.Fatalf("pushed limits sum to %d W, above 100 kW", sum)
	}
	grid := false
	for _, nd := range view.Nodes {
		if nd.LimitW != nil && nd.AllocatedW > *nd.LimitW {
			t.Errorf("node %s allocated %d above its limit %d", nd.ID, nd.AllocatedW, *nd.LimitW)
		}
		if nd.Kind == "grid" {
			grid = true
			if *nd.LimitW != 100_000 || nd.AllocatedW != 100_000 {
				t.Errorf("grid node %+v", nd)
			}
		}
		if nd.Kind == "evse" && (nd.FailsafeW == nil || *nd.FailsafeW != 10_000) {
			t.Errorf("evse %s failsafe %v", nd.ID, nd.FailsafeW)
		}
	}
	if !grid {
		t.Fatal("no grid node in the site's load")
	}
}

// meterObeys sends a meter value for every running session and checks that the simulated
// power stays within the pushed limit and that the power of the site stays within 100 kW.
func meterObeys(t *testing.T, ctx context.Context, stations map[string]*sim.Station, snap *app.SiteLoad) (max int64) {
	t.Helper()
	var total int64
	for _, ls := range snap.Sessions {
		st := stations[ls.StationID]
		if _, err := st.SendMeterValues(ctx, ls.EVSENo); err != nil {
			t.Fatal(err)
		}
		p := st.MeterSample(ls.EVSENo).PowerW
		if p <= 0 || p > *ls.PushedW {
			t.Errorf("%s/%d draws %d W with a %d W limit", ls.StationID, ls.EVSENo, p, *ls.PushedW)
		}
		total += p
		if p > max {
			max = p
		}
		t.Logf("%s/%d: limit %d W, simulated %d W", ls.StationID, ls.EVSENo, *ls.PushedW, p)
	}
	if total > 100_000 {
		t.Errorf("the site draws %d W, above 100 kW", total)
	}
	return max
}

// TestDistributionTreeRefused: the API refuses a node limited above its parent and a move that
// would make a cycle.
func TestDistributionTreeRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		site, grid := s.loadSite("TAG-TREE", 100, 0)
		s.must(422, "POST", "/api/v1/nodes", obj{"site_id": site, "parent_id": grid, "kind": "transformer", "name": "T too big", "limit_kw": 150}, nil)
		var tr, fd obj
		s.must(201, "POST", "/api/v1/nodes", obj{"site_id": site, "parent_id": grid, "kind": "transformer", "name": "T1", "limit_kw": 80}, &tr)
		s.must(201, "POST", "/api/v1/nodes", obj{"site_id": site, "parent_id": tr["id"], "kind": "feeder", "name": "F1", "limit_kw": 50}, &fd)
		s.must(422, "PATCH", "/api/v1/nodes/"+tr["id"].(string), obj{"parent_id": fd["id"]}, nil)
		s.must(422, "PATCH", "/api/v1/nodes/"+tr["id"].(string), obj{"limit_kw": 40}, nil) // below its feeder's 50
		s.must(422, "POST", "/api/v1/nodes", obj{"site_id": site, "parent_id": fd["id"], "kind": "feeder", "name": "F2", "limit_kw": 60}, nil)
		// The tree the load manager shows is the accepted one.
		var view app.SiteLoad
		s.must(200, "POST", "/api/v1/sites/"+site+"/load/rebalance", nil, nil)
		s.must(200, "GET", "/api/v1/sites/"+site+"/load", nil, &view)
		kinds := ""
		for _, n := range view.Nodes {
			kinds += n.Kind + " "
		}
		if kinds != "site grid transformer feeder " {
			t.Fatalf("tree %q", kinds)
		}
	})
}
