package app_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	chg "github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// powerReader is a DeviceReader whose every device reads w watts.
type powerReader struct{ w atomic.Int64 }

func (r *powerReader) Read(context.Context, asset.Device) (monitor.Sample, error) {
	return monitor.Sample{PowerW: r.w.Load(), Voltage: [3]int64{230_000, 230_000, 230_000}, PowerFactor: 990, FrequencyMH: 50_000}, nil
}

// poll reads every meter at the clock's time, as the device poller does.
func (s *lmSite) poll(r *powerReader, w int64) {
	s.t.Helper()
	r.w.Store(w)
	mon := s.f.a.Monitor()
	mon.Reader = r
	res, err := mon.PollDevices(bg, s.f.clock.Now())
	if err != nil || res.Polled != 1 || res.Failed != 0 {
		s.t.Fatalf("poll %+v %v", res, err)
	}
}

// meter adds a site meter on node ("": none, the site's grid connection).
func (s *lmSite) meter(node string) {
	s.t.Helper()
	if _, err := app.Create(bg, s.f.a, app.Devices, asset.DeviceFields{SiteID: s.site, NodeID: node, Kind: asset.DeviceMeter, Name: "Meter", ModbusAddr: "127.0.0.1:1", ModbusUnit: 1}); err != nil {
		s.t.Fatal(err)
	}
}

func nodeOf(t *testing.T, snap *app.SiteLoad, id string) app.LoadNode {
	t.Helper()
	for _, n := range snap.Nodes {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("no node %s", id)
	return app.LoadNode{}
}

// TestLoadMeterReading: a fresh reading of a node's meter is that node's measured load, and
// what it sees beyond the managed sessions is kept off the limits; sessions not behind the
// meter still count; a stale reading is ignored.
//
//	grid 50 kW → feeder F (metered) → station A, one session drawing 10 kW
//	grid 50 kW → station B, one session drawing 10 kW
//	no reading:     F 10 kW, site 20 kW; both sessions at their 22 kW maximum (44 ≤ 50)
//	F reads 25 kW:  F 25 kW, grid 25 + 10 = 35 kW; 15 kW unmanaged behind F: 35 kW for two, 17.5 kW each
//	31 s later:     stale: back to 10 / 20 kW and 22 kW each
func TestLoadMeterReading(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		f.a.Commander = &cmdRecorder{proto: "ocpp2.0.1"}
		ls := newLMSite(t, f, 50_000)
		feeder, err := app.Create(bg, f.a, app.Nodes, asset.NodeFields{SiteID: ls.site, ParentID: ls.grid, Kind: asset.NodeFeeder, Name: "F"})
		if err != nil {
			t.Fatal(err)
		}
		ls.station("LMR-A", asset.KindAC, feeder.ID, 1, 22_000, "AC", false)
		ls.station("LMR-B", asset.KindAC, ls.grid, 1, 22_000, "AC", false)
		a, b := ls.session("ses_a", "LMR-A", 1, 10_000), ls.session("ses_b", "LMR-B", 1, 10_000)
		ls.meter(feeder.ID)
		events, unsub := f.a.Bus.Subscribe(1024)
		defer unsub()
		lm := f.a.StartLoad(app.LoadOptions{Debounce: 20 * time.Millisecond, Resync: -1})
		defer lm.Stop()

		check := func(snap *app.SiteLoad, feederW, gridW, reserved, each int64, fresh bool) {
			t.Helper()
			fn, gn := nodeOf(t, snap, feeder.ID), nodeOf(t, snap, ls.grid)
			if fn.MeasuredW != feederW || gn.MeasuredW != gridW || snap.MeasuredW != gridW || fn.ReservedW != reserved || (fn.MeterW != nil) != fresh {
				t.Fatalf("feeder %+v, grid %+v, site %d", fn, gn, snap.MeasuredW)
			}
			if sessionLimit(t, snap, a.ID) != each || sessionLimit(t, snap, b.ID) != each || gn.AllocatedW+reserved > 50_000 {
				t.Fatalf("sessions %+v", snap.Sessions)
			}
		}
		snap, err := lm.Rebalance(operator, ls.site)
		if err != nil {
			t.Fatal(err)
		}
		check(snap, 10_000, 20_000, 0, 22_000, false)

		// A poll of the meter re-allocates the site by itself.
		ls.poll(&powerReader{}, 25_000)
		for {
			snap = waitEvent(t, events, app.EventLoadAllocated).Data.(*app.SiteLoad)
			if len(snap.Meters) == 1 {
				break
			}
		}
		if m := snap.Meters[0]; !m.Fresh || m.PowerW != 25_000 || m.Node != feeder.ID {
			t.Fatalf("meter %+v", m)
		}
		check(snap, 25_000, 35_000, 15_000, 17_500, true)

		f.clock.Set(t0.Add(31 * time.Second))
		if snap, err = lm.Rebalance(operator, ls.site); err != nil {
			t.Fatal(err)
		}
		if snap.Meters[0].Fresh {
			t.Fatal("a 31 s old reading is fresh")
		}
		check(snap, 10_000, 20_000, 0, 22_000, false)
	})
}

// TestLoadDischargesV2X: a site whose meter reads above its limit asks a connected V2X session
// to discharge, through App.Discharge, for at most its EVSE's rating; a vehicle at its minimum
// SoC is not asked (App.Discharge refuses, nothing is sent). A discharging session is not
// managed until its discharge ends.
//
//	grid 50 kW, its meter (no node: the grid connection) reads 70 kW: 20 kW over.
//	V2X station (OCPP 2.1), 11 kW DC EVSE; vehicle 60 kWh, minimum 30 %.
//	SoC 25 %: refused. 16 min later (the refusal's pause is 15 min), SoC 80 %: asked to feed
//	back 11 kW for 15 min (2.75 kWh: 80 → 75.4 %).
func TestLoadDischargesV2X(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		rec := &cmdRecorder{proto: "ocpp2.1"}
		f.a.Commander = rec
		ls := newLMSite(t, f, 50_000)
		ls.station("V2X-1", asset.KindDC, ls.grid, 1, 11_000, "DC", true)
		ls.meter("")
		acc := f.purchaser("EUR", "", 0)
		var owner string
		if err := f.a.Store.View(bg, func(tx store.Tx) error { a, err := tx.Accounts().Get(bg, acc); owner = a.UserID; return err }); err != nil {
			t.Fatal(err)
		}
		veh, err := app.Create(bg, f.a, app.Vehicles, account.VehicleFields{OwnerID: owner, Plate: "V2X-1", BatteryWh: 60_000, MinSoCPct: 30})
		if err != nil {
			t.Fatal(err)
		}
		ses := &chg.Session{ID: "ses_v2x", StationID: "V2X-1", EVSENo: 1, TxRef: "TX-V2X", AccountID: acc, VehicleID: veh.ID, Kind: chg.KindCharge,
			Status: chg.Active, PowerW: 11_000, SoC: ptr(25), StartedAt: t0, UpdatedAt: t0}
		if err := f.a.Store.InTx(bg, func(tx store.Tx) error { return tx.Sessions().Create(bg, ses) }); err != nil {
			t.Fatal(err)
		}
		events, unsub := f.a.Bus.Subscribe(1024)
		defer unsub()
		lm := f.a.StartLoad(app.LoadOptions{Debounce: 20 * time.Millisecond, Resync: -1})
		defer lm.Stop()
		reader := &powerReader{}
		raw := func(cmds []recorded) []recorded {
			var out []recorded
			for _, c := range cmds {
				if c.req.Kind == "raw" {
					out = append(out, c)
				}
			}
			return out
		}

		// At its minimum: not asked.
		ls.poll(reader, 70_000)
		snap, err := lm.Rebalance(operator, ls.site)
		if err != nil {
			t.Fatal(err)
		}
		d := waitEvent(t, events, app.EventLoadDischarge).Data.(*app.LoadDischarge)
		if d.Refused == "" || !strings.Contains(d.Refused, "minimum") || d.CommandID != "" || d.OverW != 20_000 || d.Node != ls.grid {
			t.Fatalf("discharge at 25 %%: %+v", d)
		}
		if got := raw(rec.take()); len(got) != 0 || len(snap.Discharging) != 0 {
			t.Fatalf("sent %+v, discharging %+v", got, snap.Discharging)
		}
		if n := nodeOf(t, snap, ls.grid); n.MeasuredW != 70_000 || n.ReservedW != 59_000 || sessionLimit(t, snap, ses.ID) != 0 {
			t.Fatalf("grid %+v, sessions %+v", n, snap.Sessions)
		}
		// Asked again within the pause: still not.
		if _, err := lm.Rebalance(operator, ls.site); err != nil {
			t.Fatal(err)
		}
		if got := raw(rec.take()); len(got) != 0 {
			t.Fatalf("asked again: %+v", got)
		}

		// Charged up and later: asked for 11 kW.
		f.clock.Set(t0.Add(16 * time.Minute))
		ses.SoC, ses.UpdatedAt = ptr(80), f.clock.Now()
		if err := f.a.Store.InTx(bg, func(tx store.Tx) error { return tx.Sessions().Update(bg, ses) }); err != nil {
			t.Fatal(err)
		}
		ls.poll(reader, 70_000)
		if snap, err = lm.Rebalance(operator, ls.site); err != nil {
			t.Fatal(err)
		}
		d = waitEvent(t, events, app.EventLoadDischarge).Data.(*app.LoadDischarge)
		if d.Refused != "" || d.CommandID == "" || d.PowerW != 11_000 || d.SessionID != ses.ID || !d.Until.Equal(t0.Add(31*time.Minute)) {
			t.Fatalf("discharge at 80 %%: %+v", d)
		}
		got := raw(rec.take())
		if len(got) != 1 || got[0].station != "V2X-1" || got[0].req.Action != "SetChargingProfile" {
			t.Fatalf("sent %+v", got)
		}
		p := string(got[0].req.Payload)
		for _, want := range []string{`"setpoint":-11000`, `"transactionId":"TX-V2X"`, `"operationMode":"CentralSetpoint"`, `"duration":900`, `"chargingProfilePurpose":"TxProfile"`} {
			if !strings.Contains(p, want) {
				t.Errorf("payload %s lacks %s", p, want)
			}
		}
		if len(snap.Discharging) != 1 {
			t.Fatalf("discharging %+v", snap.Discharging)
		}
		// While it discharges it is not managed: no limit overrides its setpoint.
		if snap, err = lm.Rebalance(operator, ls.site); err != nil {
			t.Fatal(err)
		}
		if len(snap.Sessions) != 0 || len(snap.Discharging) != 1 {
			t.Fatalf("sessions %+v discharging %+v", snap.Sessions, snap.Discharging)
		}
		for _, c := range rec.take() {
			if c.station == "V2X-1" {
				t.Fatalf("sent %+v to a discharging session", c.req)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
