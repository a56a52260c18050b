package app_test

import (
	"testing"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
	"github.com/evcs/evcs/internal/swap"
)

// swapFixture: a swap station with one cabinet, a ready battery (slot 1, SoH 95), a second ready
// one (slot 2, SoH 80), a purchaser with 100.00 and a swap vehicle whose battery is registered.
type swapFixture struct {
	*fixture
	acc, vehicleBattery string
}

func newSwapFixture(t *testing.T, s store.Store) *swapFixture {
	f := &swapFixture{fixture: newFixture(t, s)}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tar, err := f.a.CreateTariff(bg, []byte(`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.30,"vat":21,"step_size":1},{"type":"FLAT","price":2.00,"vat":21,"step_size":1}]}]}`))
	must(tar, err)
	site, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Swap", TimeZone: "UTC", DefaultTariffID: tar.ID})
	must(site, err)
	must(app.Create(bg, f.a, app.Stations, app.StationInput{ID: "SW-1", StationFields: asset.StationFields{SiteID: site.ID, Kind: asset.KindSwap}}))
	cab, err := app.Create(bg, f.a, app.Cabinets, asset.CabinetFields{StationID: "SW-1", Name: "C1", Slots: 4})
	must(cab, err)
	for i, soh := range []int{95, 80} {
		must(app.Create(bg, f.a, app.Batteries, asset.BatteryFields{Serial: []string{"B-READY-95", "B-READY-80"}[i], BatteryType: "T60", CapacityWh: 60000,
			SoHPct: soh, SoCPct: 100, CabinetID: cab.ID, SlotNo: i + 1, State: asset.BatteryReady}))
	}
	f.acc = f.purchaser("EUR", "", 0)
	f.topUp(f.acc, "100.00", "swap-fixture")
	var owner string
	if err := f.a.Store.View(bg, func(tx store.Tx) error {
		a, err := tx.Accounts().Get(bg, f.acc)
		owner = a.UserID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	veh, err := app.Create(bg, f.a, app.Vehicles, account.VehicleFields{OwnerID: owner, Plate: "SW-001", BatteryType: "T60", BatteryWh: 60000})
	must(veh, err)
	must(app.Create(bg, f.a, app.IdTokens, account.IdTokenFields{UID: "TAG-SWAP", Type: "ISO14443", AccountID: f.acc}))
	b, err := app.Create(bg, f.a, app.Batteries, asset.BatteryFields{Serial: "B-IN-CAR", BatteryType: "T60", CapacityWh: 60000, SoHPct: 90, SoCPct: 20,
		VehicleID: veh.ID, State: asset.BatteryInVehicle})
	must(b, err)
	f.vehicleBattery = b.Serial
	return f
}

func (f *swapFixture) battery(serial string) asset.Battery {
	f.t.Helper()
	var b *asset.Battery
	if err := f.a.Store.View(bg, func(tx store.Tx) (err error) { b, err = tx.Batteries().GetBy(bg, "serial", serial); return }); err != nil {
		f.t.Fatal(err)
	}
	return *b
}

// A swap the station starts but the driver never completes: BatteryOutTimeout closes the order,
// bills nothing, releases the hold and returns the reserved battery to rotation.
func TestSwapOutTimeout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newSwapFixture(t, s)
		o, err := f.a.BatterySwap(bg, app.SwapEvent{StationID: "SW-1", Event: "BatteryIn", IdToken: "TAG-SWAP", RequestID: 7,
			Batteries: []app.SwapBattery{{Serial: f.vehicleBattery, SoCPct: 20, SoHPct: 90}}})
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != swap.InReceived || o.OutSerial != "B-READY-95" || f.balance(f.acc) >= 10000 {
			t.Fatalf("after BatteryIn: order %s, balance %d (funds should be held)", o.Status, f.balance(f.acc))
		}
		o, err = f.a.BatterySwap(bg, app.SwapEvent{StationID: "SW-1", Event: "BatteryOutTimeout", RequestID: 7})
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != swap.TimedOut {
			t.Fatalf("order = %s, want timed out", o.Status)
		}
		if b := f.balance(f.acc); b != 10000 {
			t.Errorf("balance after the timeout = %d, want 10000 (nothing billed, hold released)", b)
		}
		if b := f.battery("B-READY-95"); b.State != asset.BatteryReady {
			t.Errorf("reserved battery state = %s, want ready again", b.State)
		}
		// A repeated timeout changes nothing.
		if _, err := f.a.BatterySwap(bg, app.SwapEvent{StationID: "SW-1", Event: "BatteryOutTimeout", RequestID: 7}); err != nil {
			t.Fatal(err)
		}
		if b := f.balance(f.acc); b != 10000 {
			t.Errorf("balance after a repeated timeout = %d", b)
		}
		f.mustCheck()
	})
}

// BatteryStatus readings go into each battery's history; a battery whose state of health falls
// below the station's threshold (70 % by default) leaves rotation with a battery.soh_low event.
func TestBatteryStatusTakesLowSoHOutOfRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newSwapFixture(t, s)
		events, stop := f.a.Bus.Subscribe(16)
		defer stop()
		err := f.a.RecordBatteryStatus(bg, "SW-1", []app.SwapBattery{{Serial: "B-READY-95", SoCPct: 99, SoHPct: 94.6}, {Serial: "B-READY-80", SoCPct: 100, SoHPct: 69.4}})
		if err != nil {
			t.Fatal(err)
		}
		if b := f.battery("B-READY-95"); b.State != asset.BatteryReady || b.SoHPct != 95 || b.SoCPct != 99 {
			t.Errorf("healthy battery = %+v", b.BatteryFields)
		}
		low := f.battery("B-READY-80")
		if low.State != asset.BatteryMaintenance || low.SoHPct != 69 {
			t.Errorf("low-SoH battery = %+v, want maintenance", low.BatteryFields)
		}
		select {
		case ev := <-events:
			if ev.Kind != app.EventBatterySoHLow || ev.StationID != "SW-1" {
				t.Errorf("event = %+v", ev)
			}
		default:
			t.Error("no battery.soh_low event")
		}
		hist, _, err := f.a.BatteryHistory(bg, low.ID, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, h := range hist {
			kinds[h.Kind] = true
		}
		if !kinds[swap.EventSoH] || !kinds[swap.EventRetired] {
			t.Errorf("history kinds = %v, want a SoH reading and the retirement", kinds)
		}
		// Out of rotation: a swap now gets the healthy battery, never the retired one.
		o, err := f.a.BatterySwap(bg, app.SwapEvent{StationID: "SW-1", Event: "BatteryIn", IdToken: "TAG-SWAP", RequestID: 9,
			Batteries: []app.SwapBattery{{Serial: f.vehicleBattery, SoCPct: 20, SoHPct: 90}}})
		if err != nil {
			t.Fatal(err)
		}
		if o.OutSerial != "B-READY-95" {
			t.Errorf("dispatched %q, want the healthy B-READY-95 (never the retired battery)", o.OutSerial)
		}
	})
}
