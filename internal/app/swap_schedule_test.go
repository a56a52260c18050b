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
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
	"github.com/evcs/evcs/internal/swap"
)

// cmdRecorder is a StationCommander on protocol proto that accepts every command (or answers
// answer when set) and keeps them.
type cmdRecorder struct {
	proto  string
	answer string
	mu     sync.Mutex
	reqs   []recorded
}

type recorded struct {
	station string
	req     app.CommandRequest
}

func (r *cmdRecorder) Command(_ context.Context, stationID string, req app.CommandRequest) (string, json.RawMessage, string, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{stationID, req})
	r.mu.Unlock()
	status := "Accepted"
	if r.answer != "" {
		status = r.answer
	}
	return "SetChargingProfile", json.RawMessage(`{"status":"` + status + `"}`), status, nil
}

func (r *cmdRecorder) Connected(string) (string, bool) { return r.proto, true }

// take returns and forgets the recorded commands.
func (r *cmdRecorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// slotLimits are the swap-slot limits among cmds: evse → W.
func slotLimits(t *testing.T, station string, cmds []recorded) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for _, c := range cmds {
		if c.station != station || c.req.Kind != "charging_profile" {
			continue
		}
		q := c.req
		if q.Purpose != "TxDefaultProfile" || q.ProfileID != app.SwapSlotProfileID(q.EVSENo) || q.StackLevel == nil || *q.StackLevel != 1 || q.RateUnit != "W" {
			t.Fatalf("slot profile %+v", q)
		}
		out[q.EVSENo] = int64(*q.Limit)
	}
	return out
}

// lmSite is a site with a limited grid connection for load tests.
type lmSite struct {
	t          *testing.T
	f          *fixture
	site, grid string
}

func newLMSite(t *testing.T, f *fixture, gridW int64) *lmSite {
	t.Helper()
	site, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Depot", TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	lim := energy.KW(gridW)
	grid, err := app.Create(bg, f.a, app.Nodes, asset.NodeFields{SiteID: site.ID, Kind: asset.NodeGrid, Name: "Grid", LimitKW: &lim})
	if err != nil {
		t.Fatal(err)
	}
	return &lmSite{t: t, f: f, site: site.ID, grid: grid.ID}
}

// station adds a station on node with evses EVSEs of maxW each (current "AC" or "DC").
func (s *lmSite) station(id, kind, node string, evses int, maxW int64, current string, v2x bool) {
	s.t.Helper()
	if _, err := app.Create(bg, s.f.a, app.Stations, app.StationInput{ID: id, StationFields: asset.StationFields{SiteID: s.site, NodeID: node, Kind: kind, V2X: v2x}}); err != nil {
		s.t.Fatal(err)
	}
	for e := 1; e <= evses; e++ {
		ev, err := app.Create(bg, s.f.a, app.EVSEs, asset.EVSEFields{StationID: id, EVSENo: e})
		if err != nil {
			s.t.Fatal(err)
		}
		w := energy.KW(maxW)
		c := asset.ConnectorFields{EVSEID: ev.ID, ConnectorNo: 1, Type: "IEC_62196_T2", MaxPowerKW: &w, VoltageV: 400, Phases: 3, Current: current}
		if current == "DC" {
			c.Type, c.VoltageV = "IEC_62196_T2_COMBO", 800
		}
		if _, err := app.Create(bg, s.f.a, app.Connectors, c); err != nil {
			s.t.Fatal(err)
		}
	}
}

// session stores an active charging session drawing powerW.
func (s *lmSite) session(id, station string, evse int, powerW int64) *chg.Session {
	s.t.Helper()
	ses := &chg.Session{ID: id, StationID: station, EVSENo: evse, TxRef: id, Kind: chg.KindCharge, Status: chg.Active, PowerW: powerW, StartedAt: t0, UpdatedAt: t0}
	if err := s.f.a.Store.InTx(bg, func(tx store.Tx) error { return tx.Sessions().Create(bg, ses) }); err != nil {
		s.t.Fatal(err)
	}
	return ses
}

// sessionLimit is what the site's allocation gives a session.
func sessionLimit(t *testing.T, snap *app.SiteLoad, id string) int64 {
	t.Helper()
	for _, ls := range snap.Sessions {
		if ls.SessionID == id {
			return ls.AllocatedW
		}
	}
	t.Fatalf("session %s not in the allocation %+v", id, snap.Sessions)
	return 0
}

// swapCabinet adds a cabinet to station with a T60 battery (60 kWh) per entry of socs, in
// slots 1…, the states given; it returns the battery ids by slot.
func (s *lmSite) swapCabinet(station string, socs []int, states []string) map[int]string {
	s.t.Helper()
	cab, err := app.Create(bg, s.f.a, app.Cabinets, asset.CabinetFields{StationID: station, Name: "C1", Slots: len(socs)})
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[int]string{}
	for i, soc := range socs {
		b, err := app.Create(bg, s.f.a, app.Batteries, asset.BatteryFields{Serial: fmt.Sprintf("%s-B%d", station, i+1), BatteryType: "T60", CapacityWh: 60_000,
			SoHPct: 95, SoCPct: soc, CabinetID: cab.ID, SlotNo: i + 1, State: states[i]})
		if err != nil {
			s.t.Fatal(err)
		}
		out[i+1] = b.ID
	}
	return out
}

func sum(m map[int]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// TestSwapScheduleRun: the scheduler plans a swap station's slots from the store and pushes
// each slot its power as a charging profile, never above what the site can give them.
//
//	site: grid 15 kW; a DC session drawing 10 kW (DC: no minimum); a swap station with four
//	11 kW slots: B1 40 %, B2 100 % (ready), B3 70 %, B4 faulty.
//	A. policy: keep 3 ready (ready at 90 %): B1 and B3 are needed now. Headroom: 15 kW (the
//	   DC session can give all): B1 11 kW + B3 4 kW = 15 kW; B2 (full) and B4 (faulty) 0 W.
//	   The load manager counts them first: the DC session goes from 15 kW to 0.
//	B. policy: keep 1 ready (B2 is): nothing is needed; charging for price alone gets only
//	   what is spare (15 − 10 kW drawn = 5 kW): B1 5 kW, B3 0; the session gets 10 kW back.
//	C. swaps in the history at 09:20 on earlier days: the forecast needs a second ready
//	   battery by step 1 (09:15–09:30): B3, the closest to ready, gets that deadline.
func TestSwapScheduleRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		rec := &cmdRecorder{proto: "ocpp2.1"}
		f.a.Commander = rec
		ls := newLMSite(t, f, 15_000)
		ls.station("SS-DC", asset.KindDC, ls.grid, 1, 150_000, "DC", false)
		ls.station("SS-SWAP", asset.KindSwap, ls.grid, 4, 11_000, "DC", false)
		ses := ls.session("ses_dc", "SS-DC", 1, 10_000)
		bat := ls.swapCabinet("SS-SWAP", []int{40, 100, 70, 10}, []string{asset.BatteryCharging, asset.BatteryReady, asset.BatteryCharging, asset.BatteryFaulty})
		lm := f.a.StartLoad(app.LoadOptions{Debounce: 20 * time.Millisecond, Resync: -1, ExtraDemands: f.a.SwapDemands})
		defer lm.Stop()
		before, err := lm.Rebalance(operator, ls.site)
		if err != nil || sessionLimit(t, before, ses.ID) != 15_000 {
			t.Fatalf("before the cabinet: %+v %v", before, err)
		}
		rec.take()
		sch := f.a.NewSwapScheduler(app.SwapScheduleOptions{})

		// A. Two batteries needed now.
		if err := f.a.SetSwapPolicy("SS-SWAP", swap.Policy{ReadySoCPct: 90, Order: swap.BySoH, MinSoHPct: 70, MinReady: 3}); err != nil {
			t.Fatal(err)
		}
		p, err := sch.RunStation(bg, "SS-SWAP")
		if err != nil {
			t.Fatal(err)
		}
		if p.HeadroomW != 15_000 || p.SpareW != 5_000 {
			t.Fatalf("headroom %d, spare %d; want 15000, 5000", p.HeadroomW, p.SpareW)
		}
		cmds := rec.take()
		got := slotLimits(t, "SS-SWAP", cmds)
		if want := map[int]int64{1: 11_000, 2: 0, 3: 4_000, 4: 0}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("slot limits %v, want %v", got, want)
		}
		if sum(got) > p.HeadroomW {
			t.Fatalf("slots %d W above the headroom %d W", sum(got), p.HeadroomW)
		}
		for _, sl := range p.Slots {
			due := sl.EVSENo == 1 || sl.EVSENo == 3
			if (sl.Deadline != nil) != due || sl.PushedW == nil || *sl.PushedW != got[sl.EVSENo] || sl.BatteryID != bat[sl.EVSENo] {
				t.Errorf("slot %+v", sl)
			}
		}
		stored, err := f.a.SwapPlan(viewer, "SS-SWAP")
		if err != nil || len(stored.Slots) != 4 || stored.Slots[0].PushedW == nil || *stored.Slots[0].PushedW != 11_000 {
			t.Fatalf("stored plan %+v %v", stored, err)
		}
		// The scheduler re-allocated the site: the needed batteries first, the session the rest.
		after, err := lm.Site(viewer, ls.site)
		if err != nil || sessionLimit(t, after, ses.ID) != 0 || len(after.Extra) != 2 || after.AllocatedW > 15_000 {
			t.Fatalf("after the cabinet: %+v %v", after, err)
		}
		for _, d := range after.Extra {
			if d.Priority != 2 || !d.Admitted || d.AllocatedW != d.MaxW {
				t.Errorf("cabinet demand %+v", d)
			}
		}
		for _, c := range cmds {
			if c.station == "SS-DC" && (c.req.Purpose != "TxProfile" || *c.req.Limit != 0) {
				t.Errorf("session profile %+v", c.req)
			}
		}
		// Unchanged: nothing is pushed again.
		if _, err := sch.RunStation(bg, "SS-SWAP"); err != nil {
			t.Fatal(err)
		}
		if got := slotLimits(t, "SS-SWAP", rec.take()); len(got) != 0 {
			t.Fatalf("an unchanged plan pushed %v", got)
		}

		// B. Nothing needed: only the spare power, for price alone.
		if err := f.a.SetSwapPolicy("SS-SWAP", swap.Policy{ReadySoCPct: 90, Order: swap.BySoH, MinSoHPct: 70, MinReady: 1}); err != nil {
			t.Fatal(err)
		}
		if p, err = sch.RunStation(bg, "SS-SWAP"); err != nil {
			t.Fatal(err)
		}
		got = slotLimits(t, "SS-SWAP", rec.take())
		if want := map[int]int64{1: 5_000, 3: 0}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("slot limits %v, want %v (changed slots only)", got, want)
		}
		if p.LoadW[0] != 5_000 || len(p.Short) != 0 {
			t.Fatalf("plan load %v short %v", p.LoadW[:2], p.Short)
		}
		for _, sl := range p.Slots {
			if sl.Deadline != nil {
				t.Errorf("slot %d has a deadline", sl.EVSENo)
			}
		}
		after, _ = lm.Site(viewer, ls.site)
		if sessionLimit(t, after, ses.ID) != 10_000 || after.Extra[0].Priority != 0 {
			t.Fatalf("after B: %+v", after)
		}

		// C. The history makes the demand.
		if err := f.a.Store.InTx(bg, func(tx store.Tx) error {
			for d, status := range []string{swap.Completed, swap.Completed, swap.TimedOut, swap.Cancelled} {
				at := t0.AddDate(0, 0, -(d + 1)).Add(20 * time.Minute)
				o := &swap.Order{ID: ids.New("swp"), StationID: "SS-SWAP", RequestID: d + 1, Origin: swap.OriginStation, BatteryType: "T60", Status: status, CreatedAt: at, UpdatedAt: at}
				if err := tx.Swaps().Create(bg, o); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if p, err = sch.RunStation(bg, "SS-SWAP"); err != nil {
			t.Fatal(err)
		}
		if d := p.Demand["T60"]; len(d) != 96 || d[0] != 0 || d[1] != 3.0/7 || d[2] != 0 {
			t.Fatalf("forecast %v", d[:3])
		}
		for _, sl := range p.Slots {
			if (sl.Deadline != nil) != (sl.EVSENo == 3) || (sl.Deadline != nil && *sl.Deadline != 1) {
				t.Errorf("slot %d deadline %v", sl.EVSENo, sl.Deadline)
			}
		}
		if sum(slotLimits(t, "SS-SWAP", rec.take())) > p.HeadroomW {
			t.Fatal("above the headroom")
		}
	})
}

// TestLoadCountsSwapCabinets: batteries planned in a swap cabinet are demands of the site:
// the sessions get what they leave, a battery needed for the ready target before them.
//
//	grid 50 kW, two 22 kW AC sessions (44 kW: both at max), a swap station whose plan charges
//	a needed battery at 20 kW (slot 1, an EVSE the station has) and one for price at 8 kW
//	(slot 9: no EVSE record, it counts at the station): 50 − 28 = 22 kW, 11 kW each.
func TestLoadCountsSwapCabinets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		f.a.Commander = &cmdRecorder{proto: "ocpp2.0.1"}
		ls := newLMSite(t, f, 50_000)
		ls.station("LC-AC", asset.KindAC, ls.grid, 2, 22_000, "AC", false)
		ls.station("LC-SWAP", asset.KindSwap, ls.grid, 1, 22_000, "AC", false)
		a1, a2 := ls.session("ses_a1", "LC-AC", 1, 22_000), ls.session("ses_a2", "LC-AC", 2, 22_000)
		lm := f.a.StartLoad(app.LoadOptions{Debounce: 20 * time.Millisecond, Resync: -1, ExtraDemands: f.a.SwapDemands})
		defer lm.Stop()
		snap, err := lm.Rebalance(operator, ls.site)
		if err != nil || sessionLimit(t, snap, a1.ID) != 22_000 || sessionLimit(t, snap, a2.ID) != 22_000 {
			t.Fatalf("without the cabinet %+v %v", snap, err)
		}
		due := 0
		plan := &swap.StationPlan{StationID: "LC-SWAP", SiteID: ls.site, ComputedAt: t0, Start: t0.Add(-time.Minute), StepS: 900, Steps: 4,
			Slots:   []swap.PlannedSlot{{BatteryID: "bat_1", EVSENo: 1, Deadline: &due, PowerW: 20_000}, {BatteryID: "bat_9", EVSENo: 9, PowerW: 8_000}},
			Charges: []swap.Charge{{BatteryID: "bat_1", Step: 0, PowerW: 20_000}, {BatteryID: "bat_9", Step: 0, PowerW: 8_000}}}
		if err := f.a.Store.InTx(bg, func(tx store.Tx) error { return tx.Swaps().SavePlan(bg, plan) }); err != nil {
			t.Fatal(err)
		}
		snap, err = lm.Rebalance(operator, ls.site)
		if err != nil {
			t.Fatal(err)
		}
		if sessionLimit(t, snap, a1.ID) != 11_000 || sessionLimit(t, snap, a2.ID) != 11_000 || snap.AllocatedW != 50_000 {
			t.Fatalf("with the cabinet: %+v", snap)
		}
		if len(snap.Extra) != 2 || snap.Extra[0].Node != "evse:LC-SWAP/1" || snap.Extra[0].Priority != 2 || snap.Extra[1].Node != "station:LC-SWAP" || snap.Extra[1].Priority != 0 {
			t.Fatalf("extra demands %+v", snap.Extra)
		}
		if snap.MeasuredW != 44_000+28_000 {
			t.Fatalf("measured %d: the sessions' power and the cabinet's plan", snap.MeasuredW)
		}
		// Past the plan's horizon the cabinet is no longer counted.
		f.clock.Set(t0.Add(2 * time.Hour))
		snap, _ = lm.Rebalance(operator, ls.site)
		if len(snap.Extra) != 0 || sessionLimit(t, snap, a1.ID) != 22_000 {
			t.Fatalf("after the plan: %+v", snap)
		}
	})
}
