package modbus

import (
	"context"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/monitor"
)

func TestEncodeDecode(t *testing.T) {
	for _, s := range []monitor.Sample{
		{},
		{Voltage: [3]int64{230_123, 1, -5}, Current: [3]int64{2_000_000_000, -2_000_000_000, 0}, PowerW: -150_000, ReactiveVar: 12,
			ApparentVA: 150_001, PowerFactor: -999, FrequencyMH: 49_987, VoltageTHD: [3]int64{8001, 0, 3}, CurrentTHD: [3]int64{1, 2, 3},
			ImportWh: 9_000_000_000_000, ExportWh: 42, Compensation: [3]int64{7, 8, 9}, Filter: true},
	} {
		if got := Decode(Encode(s)); got != s {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
		}
	}
}

func TestSimPolled(t *testing.T) {
	for _, filter := range []bool{false, true} {
		sim := NewSim(filter)
		if err := sim.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Stop() })
		r := NewReader(2 * time.Second)
		t.Cleanup(r.Close)
		d := asset.Device{ID: "dev_1", DeviceFields: asset.DeviceFields{ModbusAddr: sim.Addr(), ModbusUnit: 1}}
		a, err := r.Read(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Read(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if a.Filter != filter || a.Voltage[0] < 220_000 || a.Voltage[0] > 240_000 || a.PowerW <= 0 || a.PowerFactor != 970 ||
			a.ApparentVA < a.PowerW || a.FrequencyMH != 50_000 {
			t.Errorf("implausible sample %+v", a)
		}
		if b.ImportWh <= a.ImportWh || b.Current == a.Current {
			t.Errorf("the simulation does not move: %+v then %+v", a, b)
		}
		if filter && a.Compensation[0] == 0 {
			t.Errorf("filter without compensation: %+v", a)
		}
		want := monitor.Sample{Voltage: [3]int64{1, 2, 3}, PowerFactor: 500, ApparentVA: 10_000}
		sim.Set(want)
		want.Filter = filter
		if got, err := r.Read(context.Background(), d); err != nil || got != want {
			t.Errorf("fixed sample: %+v %v", got, err)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	r := NewReader(500 * time.Millisecond)
	defer r.Close()
	if _, err := r.Read(context.Background(), asset.Device{ID: "d"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("no address: %v", err)
	}
	sim := NewSim(false)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := sim.Addr()
	_ = sim.Stop()
	if _, err := r.Read(context.Background(), asset.Device{ID: "d", DeviceFields: asset.DeviceFields{ModbusAddr: addr}}); !errs.Is(err, errs.Unavailable) {
		t.Errorf("nobody listening: %v", err)
	}
	// A device that comes back is read again.
	sim2 := NewSim(false)
	if err := sim2.Start(addr); err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer sim2.Stop()
	if _, err := r.Read(context.Background(), asset.Device{ID: "d", DeviceFields: asset.DeviceFields{ModbusAddr: addr}}); err != nil {
		t.Errorf("after restart: %v", err)
	}
}
