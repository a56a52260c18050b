package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
	"github.com/evcs/evcs/internal/swap"
)

// TestSwapScheduleOnStation: the swap scheduler running in EVCS plans a swap station's slots
// and pushes each slot's power to a simulated OCPP 2.1 swap station, which accepts it; the
// slots never get more than the site can give them, and the load manager takes the cabinet's
// needed batteries off what a charging session gets.
//
//	site: grid 30 kW; an AC station (22 kW, minimum 6 A × 3 × 230 V = 4140 W) charging one car;
//	a swap station with four 11 kW slots: B1 100 % (ready), B2 70 %, B3 40 %, B4 faulty;
//	policy: keep 3 ready (at 90 %): B2 and B3 are needed now.
//	headroom for the slots: 30 000 − 4 140 = 25 860 W; B2 and B3 get 11 kW each, B1 (full)
//	and B4 0 W; the session: what is left of 30 kW, 8 kW.
func TestSwapScheduleOnStation(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		const tag, station = "TAG-SWAPSCHED", "SS-SW"
		site, grid := s.loadSite(tag, 30, 1, "SS-AC")
		s.must(201, "POST", "/api/v1/stations", obj{"id": station, "site_id": site, "node_id": grid, "kind": "swap"}, nil)
		for e := 1; e <= 4; e++ {
			var ev obj
			s.must(201, "POST", "/api/v1/stations/"+station+"/evses", obj{"evse_no": e}, &ev)
			s.must(201, "POST", "/api/v1/connectors", obj{"evse_id": ev["id"], "connector_no": 1, "type": "IEC_62196_T2_COMBO",
				"max_power_kw": 11, "voltage_v": 800, "current": "DC"}, nil)
		}
		var cab obj
		s.must(201, "POST", "/api/v1/cabinets", obj{"station_id": station, "name": "Cabinet 1", "slots": 4}, &cab)
		for i, b := range []obj{
			{"serial": "SS-B1", "soc_pct": 100, "state": "ready"},
			{"serial": "SS-B2", "soc_pct": 70, "state": "charging"},
			{"serial": "SS-B3", "soc_pct": 40, "state": "charging"},
			{"serial": "SS-B4", "soc_pct": 50, "state": "faulty"},
		} {
			b["battery_type"], b["capacity_wh"], b["soh_pct"], b["cabinet_id"], b["slot_no"] = "T60", 60000, 95, cab["id"], i+1
			s.must(201, "POST", "/api/v1/batteries", b, nil)
		}
		if err := s.M.App.SetSwapPolicy(station, swap.Policy{ReadySoCPct: 90, Order: swap.BySoH, MinSoHPct: 70, MinReady: 3}); err != nil {
			t.Fatal(err)
		}
		events, unsub := s.M.App.Bus.Subscribe(4096)
		defer unsub()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()

		connect := func(id string, v ocppj.Version, evses int) *sim.Station {
			cfg := simConfig(s, v, tag)
			cfg.EVSEs = evses
			st, err := sim.NewStation(cfg, id)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if b, err := st.Boot(ctx); err != nil || b.Status != "Accepted" {
				t.Fatalf("%s boot %+v %v", id, b, err)
			}
			return st
		}
		ac := connect("SS-AC", ocppj.V201, 1)
		connect(station, ocppj.V21, 4)
		if tx, err := ac.StartCharging(ctx, 1, tag); err != nil || tx.AuthStatus != "Accepted" {
			t.Fatalf("start %+v %v", tx, err)
		}

		sched := s.M.App.SwapScheduler()
		if sched == nil {
			t.Fatal("the swap scheduler is not running")
		}
		p, err := sched.RunStation(ctx, station)
		if err != nil || p == nil {
			t.Fatalf("run: %+v %v", p, err)
		}
		if p.HeadroomW != 25_860 {
			t.Fatalf("headroom %d W, want 25860", p.HeadroomW)
		}
		var total int64
		for _, sl := range p.Slots {
			want := map[int]int64{1: 0, 2: 11_000, 3: 11_000, 4: 0}[sl.EVSENo]
			if sl.PowerW != want || sl.PushedW == nil || *sl.PushedW != want {
				t.Errorf("slot %d: planned %d W, pushed %v", sl.EVSENo, sl.PowerW, sl.PushedW)
			}
			if (sl.Deadline != nil) != (sl.EVSENo == 2 || sl.EVSENo == 3) {
				t.Errorf("slot %d deadline %v", sl.EVSENo, sl.Deadline)
			}
			total += sl.PowerW
		}
		if total != 22_000 || total > p.HeadroomW {
			t.Fatalf("slots get %d W, above the headroom %d W", total, p.HeadroomW)
		}
		// The stored plan is what the REST API shows.
		var shown struct {
			HeadroomW int64 `json:"headroom_w"`
			Slots     []struct {
				EVSENo int   `json:"evse_no"`
				PowerW int64 `json:"power_w"`
			} `json:"slots"`
		}
		s.must(200, "GET", "/api/v1/stations/"+station+"/swap-plan", nil, &shown)
		if shown.HeadroomW != p.HeadroomW || len(shown.Slots) != len(p.Slots) {
			t.Fatalf("GET swap-plan: %+v, want the plan run", shown)
		}
		s.must(422, "GET", "/api/v1/stations/SS-AC/swap-plan", nil, nil) // not a swap station
		s.must(404, "GET", "/api/v1/stations/NO-SUCH/swap-plan", nil, nil)

		// The station accepted each slot's last limit, as the commands record.
		var page struct{ Items []obj }
		s.must(200, "GET", "/api/v1/commands?station_id="+station+"&limit=500", nil, &page)
		last := map[int]obj{}
		for _, c := range page.Items {
			var req app.CommandRequest
			raw, _ := json.Marshal(c["request"])
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatal(err)
			}
			if req.Kind == "charging_profile" && req.ProfileID == app.SwapSlotProfileID(req.EVSENo) {
				c["limit_w"] = int64(*req.Limit)
				last[req.EVSENo] = c
			}
		}
		for _, sl := range p.Slots {
			c := last[sl.EVSENo]
			if c == nil || c["action"] != "SetChargingProfile" || c["status"] != "accepted" || c["error"] != nil || c["limit_w"] != sl.PowerW {
				t.Errorf("slot %d: last command %v, want %d W accepted", sl.EVSENo, c, sl.PowerW)
			}
		}

		// The load manager counts the cabinet: the session gets what is left.
		snap := waitLoad(t, events, site, func(snap *app.SiteLoad) bool {
			if len(snap.Sessions) != 1 || len(snap.Extra) < 2 {
				return false
			}
			ls := snap.Sessions[0]
			return ls.PushedW != nil && *ls.PushedW == ls.AllocatedW && ls.AllocatedW == 8_000
		})
		var cabinet int64
		for _, d := range snap.Extra {
			cabinet += d.AllocatedW
		}
		if ls := snap.Sessions[0]; ls.AllocatedW+cabinet > 30_000 || cabinet != total {
			t.Fatalf("session %+v, cabinet %d W (plan %d W)", ls, cabinet, total)
		}
		stored := s.must(200, "GET", "/api/v1/sites/"+site+"/load", nil, nil)
		if !json.Valid(stored) {
			t.Fatalf("site load %s", stored)
		}
	})
}
