package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	chg "github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// fakeCommander is the OCPP server's connection registry, as far as the monitor asks.
type fakeCommander struct {
	mu   sync.Mutex
	conn map[string]bool
}

func (c *fakeCommander) set(id string, on bool) { c.mu.Lock(); c.conn[id] = on; c.mu.Unlock() }
func (c *fakeCommander) Connected(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "ocpp2.0.1", c.conn[id]
}
func (c *fakeCommander) Command(context.Context, string, app.CommandRequest) (string, json.RawMessage, string, error) {
	return "", nil, "", errs.E(errs.Unavailable, "fake")
}

type alarmFixture struct {
	*fixture
	cmd  *fakeCommander
	mon  *app.AlarmMonitor
	site string
}

func newAlarmFixture(t *testing.T, s store.Store, stations ...string) *alarmFixture {
	f := &alarmFixture{fixture: newFixture(t, s), cmd: &fakeCommander{conn: map[string]bool{}}}
	f.a.Commander = f.cmd
	f.mon = f.a.Monitor()
	t.Cleanup(f.mon.Stop)
	site, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Depot", TimeZone: "Europe/Amsterdam"})
	if err != nil {
		t.Fatal(err)
	}
	f.site = site.ID
	for _, id := range stations {
		if _, err := app.Create(bg, f.a, app.Stations, app.StationInput{ID: id, StationFields: asset.StationFields{SiteID: site.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// alarms lists alarms matching filter.
func (f *alarmFixture) alarms(filter map[string]string) []monitor.Alarm {
	f.t.Helper()
	items, _, err := f.a.Alarms(viewer, store.Query{Filter: filter, Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	return items
}

func (f *alarmFixture) one(filter map[string]string) monitor.Alarm {
	f.t.Helper()
	items := f.alarms(filter)
	if len(items) != 1 {
		f.t.Fatalf("%d alarms for %v: %+v", len(items), filter, items)
	}
	return items[0]
}

func (f *alarmFixture) sweep(at time.Time) {
	f.t.Helper()
	if err := f.mon.Sweep(bg, at); err != nil {
		f.t.Fatal(err)
	}
}

// TestStationOffline: a station that disconnects and stays away past two heartbeat intervals
// is offline (once, however often the sweep runs); it comes back and the alarm clears.
func TestStationOffline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newAlarmFixture(t, s, "CP-1", "CP-2")
		hb := f.a.Settings.HeartbeatInterval
		events, stop := f.a.Bus.Subscribe(64)
		defer stop()

		f.cmd.set("CP-1", true)
		f.mon.Handle(bg, app.Event{Kind: "station.connected", StationID: "CP-1"})
		f.sweep(t0)
		f.cmd.set("CP-1", false)
		f.mon.Handle(bg, app.Event{Kind: "station.disconnected", StationID: "CP-1"}) // at t0 (the clock)
		f.sweep(t0.Add(2*hb - time.Second))
		if got := f.alarms(nil); len(got) != 0 {
			t.Fatalf("alarm before two missed heartbeats: %+v", got)
		}
		f.sweep(t0.Add(2 * hb))
		f.sweep(t0.Add(3 * hb))
		a := f.one(map[string]string{"kind": monitor.KindStationOffline})
		if a.Status != monitor.Raised || a.Source != "station/CP-1" || a.StationID != "CP-1" || a.SiteID != f.site ||
			a.Severity != monitor.Critical || !a.RaisedAt.Equal(t0.Add(2*hb)) {
			t.Fatalf("offline alarm %+v", a)
		}
		// CP-2 never connected: nothing to miss.
		if got := f.alarms(map[string]string{"station_id": "CP-2"}); len(got) != 0 {
			t.Fatalf("alarm for a station never seen: %+v", got)
		}
		if _, err := f.a.AcknowledgeAlarm(viewer, a.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("viewer acknowledged: %v", err)
		}
		acked, err := f.a.AcknowledgeAlarm(operator, a.ID)
		if err != nil || acked.Status != monitor.Acknowledged || acked.AckedBy != "usr_operator" {
			t.Fatalf("ack %+v %v", acked, err)
		}
		f.sweep(t0.Add(4 * hb)) // still away: still the one acknowledged alarm
		if a := f.one(nil); a.Status != monitor.Acknowledged {
			t.Fatalf("after sweep %+v", a)
		}

		f.clock.Set(t0.Add(5 * hb))
		f.cmd.set("CP-1", true)
		f.mon.Handle(bg, app.Event{Kind: "station.connected", StationID: "CP-1"})
		a = f.one(nil)
		if a.Status != monitor.Cleared || a.ClearedBy != "system" || a.ClearedAt == nil || !a.ClearedAt.Equal(t0.Add(5*hb)) {
			t.Fatalf("after reconnect %+v", a)
		}
		f.sweep(t0.Add(5*hb + time.Second))
		if got := f.alarms(map[string]string{"status": "raised"}); len(got) != 0 {
			t.Fatalf("raised again while connected: %+v", got)
		}
		var kinds []string
		for len(events) > 0 {
			if e := <-events; len(e.Kind) > 6 && e.Kind[:6] == "alarm." {
				kinds = append(kinds, e.Kind)
			}
		}
		if want := []string{"alarm.raised", "alarm.acknowledged", "alarm.cleared"}; !equal(kinds, want) {
			t.Fatalf("bus events %v, want %v", kinds, want)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOfflineConnectedElsewhere: a station connected to another node is kept present by that
// node's sweeps; this node raises nothing until those stop.
func TestOfflineConnectedElsewhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newAlarmFixture(t, s, "CP-1")
		other := app.New(s, f.clock, f.a.Log)
		t.Cleanup(other.Close)
		otherCmd := &fakeCommander{conn: map[string]bool{"CP-1": true}}
		other.Commander = otherCmd
		om := other.Monitor()
		t.Cleanup(om.Stop)
		hb := f.a.Settings.HeartbeatInterval
		for i := range 6 {
			at := t0.Add(time.Duration(i) * hb)
			if err := om.Sweep(bg, at); err != nil {
				t.Fatal(err)
			}
			f.sweep(at.Add(time.Second))
		}
		if got := f.alarms(nil); len(got) != 0 {
			t.Fatalf("alarm for a station connected elsewhere: %+v", got)
		}
		otherCmd.set("CP-1", false) // that node died without a word
		f.sweep(t0.Add(5*hb + 2*hb))
		if a := f.one(nil); a.Kind != monitor.KindStationOffline {
			t.Fatalf("%+v", a)
		}
	})
}

// TestConnectorAndStationReports: Faulted raises with the OCPP error code and clears with the
// next status; a failed firmware update raises until Installed; security events count up.
func TestConnectorAndStationReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newAlarmFixture(t, s, "CP-1")
		status := func(st, code string) {
			f.mon.Handle(bg, app.Event{Kind: "status", StationID: "CP-1", Data: chg.StatusChange{StationID: "CP-1", EVSENo: 1, ConnectorNo: 1, Status: st, ErrorCode: code, At: t0}})
		}
		status("Available", "NoError")
		if got := f.alarms(nil); len(got) != 0 {
			t.Fatalf("%+v", got)
		}
		status("Faulted", "GroundFailure")
		status("Faulted", "GroundFailure")
		a := f.one(map[string]string{"source": "connector/CP-1/1/1"})
		if a.Kind != monitor.KindConnectorFaulted || a.Details["error_code"] != "GroundFailure" || a.Severity != monitor.Critical || a.Status != monitor.Raised {
			t.Fatalf("%+v", a)
		}
		status("Faulted", "EVCommunicationError") // another code: the same alarm, updated
		if a := f.one(nil); a.Details["error_code"] != "EVCommunicationError" || a.Severity != monitor.Warning {
			t.Fatalf("%+v", a)
		}
		status("Available", "NoError")
		if a := f.one(nil); a.Status != monitor.Cleared {
			t.Fatalf("%+v", a)
		}

		report := func(kind, payload string) {
			f.mon.Handle(bg, app.Event{Kind: "station.event", StationID: "CP-1", Data: chg.StationEvent{ID: "evt", StationID: "CP-1", Kind: kind, At: t0, Payload: json.RawMessage(payload)}})
		}
		report("FirmwareStatusNotification", `{"status":"Downloading"}`)
		report("FirmwareStatusNotification", `{"status":"InstallationFailed","requestId":1}`)
		fw := f.one(map[string]string{"kind": monitor.KindFirmwareFailed})
		if fw.Status != monitor.Raised || fw.Details["status"] != "InstallationFailed" {
			t.Fatalf("%+v", fw)
		}
		report("FirmwareStatusNotification", `{"status":"Installed"}`)
		if fw := f.one(map[string]string{"kind": monitor.KindFirmwareFailed}); fw.Status != monitor.Cleared {
			t.Fatalf("%+v", fw)
		}
		report("SecurityEventNotification", `{"type":"StartupOfTheDevice","timestamp":"2026-03-01T09:00:00Z"}`)
		report("SecurityEventNotification", `{"type":"TamperDetectionActivated","timestamp":"2026-03-01T09:00:00Z","techInfo":"door"}`)
		report("SecurityEventNotification", `{"type":"TamperDetectionActivated","timestamp":"2026-03-01T09:01:00Z"}`)
		sec := f.one(map[string]string{"kind": monitor.KindSecurityEvent})
		if sec.Count != 2 || sec.Severity != monitor.Critical || sec.Source != "station/CP-1/security/TamperDetectionActivated" {
			t.Fatalf("%+v", sec)
		}
		cl, err := f.a.ClearAlarm(operator, sec.ID)
		if err != nil || cl.Status != monitor.Cleared || cl.ClearedBy != "usr_operator" {
			t.Fatalf("%+v %v", cl, err)
		}
		if _, err := f.a.ClearAlarm(operator, sec.ID); !errs.Is(err, errs.Conflict) {
			t.Fatalf("clear twice: %v", err)
		}
		if _, err := f.a.AcknowledgeAlarm(operator, "alm_nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown: %v", err)
		}
		if _, _, err := f.a.Alarms(viewer, store.Query{Filter: map[string]string{"status": "open"}}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("bad filter value: %v", err)
		}
		if _, _, err := f.a.Alarms(viewer, store.Query{Filter: map[string]string{"colour": "red"}}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("bad filter: %v", err)
		}
	})
}

// fakeReader returns what the test sets per device.
type fakeReader struct {
	mu  sync.Mutex
	out map[string]monitor.Sample
	err map[string]error
}

func (r *fakeReader) Read(_ context.Context, d asset.Device) (monitor.Sample, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out[d.ID], r.err[d.ID]
}

// TestDevicePoll: readings are stored exactly; node load, THD and power factor raise and
// clear with hysteresis; a device that does not answer is an alarm.
func TestDevicePoll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newAlarmFixture(t, s)
		limit := energy.KW(100_000)
		node, err := app.Create(bg, f.a, app.Nodes, asset.NodeFields{SiteID: f.site, Kind: asset.NodeGrid, Name: "Grid", LimitKW: &limit})
		if err != nil {
			t.Fatal(err)
		}
		meter, err := app.Create(bg, f.a, app.Devices, asset.DeviceFields{SiteID: f.site, NodeID: node.ID, Kind: asset.DeviceMeter, Name: "Site meter", ModbusAddr: "10.0.0.1:502", ModbusUnit: 1})
		if err != nil {
			t.Fatal(err)
		}
		filter, err := app.Create(bg, f.a, app.Devices, asset.DeviceFields{SiteID: f.site, NodeID: node.ID, Kind: asset.DeviceFilter, Name: "APF", ModbusAddr: "10.0.0.2:502", ModbusUnit: 1})
		if err != nil {
			t.Fatal(err)
		}
		r := &fakeReader{out: map[string]monitor.Sample{}, err: map[string]error{}}
		f.mon.Reader = r
		good := monitor.Sample{Voltage: [3]int64{230_100, 230_000, 229_900}, Current: [3]int64{100_000, 100_000, 100_000}, PowerW: 69_000,
			ApparentVA: 70_000, PowerFactor: 985, FrequencyMH: 50_010, VoltageTHD: [3]int64{2_000, 2_000, 2_000}, CurrentTHD: [3]int64{5_000, 5_000, 5_000}, ImportWh: 1_000}
		r.out[meter.ID] = good
		r.err[filter.ID] = errors.New("i/o timeout")
		poll := func(at time.Time) {
			t.Helper()
			if _, err := f.mon.PollDevices(bg, at); err != nil {
				t.Fatal(err)
			}
		}
		poll(t0)
		un := f.one(map[string]string{"kind": monitor.KindDeviceUnreachable})
		if un.Source != "device/"+filter.ID || un.Status != monitor.Raised {
			t.Fatalf("%+v", un)
		}
		rs, _, err := f.a.DeviceReadings(viewer, meter.ID, store.ReadingQuery{Quantity: monitor.QVoltage})
		if err != nil || len(rs) != 3 || rs[0].Milli != 230_100 || rs[0].Phase != "L1" || rs[0].Unit != "V" || !rs[0].At.Equal(t0) {
			t.Fatalf("readings %+v %v", rs, err)
		}
		// Overload, distortion and a poor power factor together.
		bad := good
		bad.PowerW, bad.ApparentVA, bad.PowerFactor = 101_000, 125_000, 808
		bad.VoltageTHD[2] = 9_500
		r.out[meter.ID] = bad
		r.out[filter.ID] = good
		delete(r.err, filter.ID)
		poll(t0.Add(time.Minute))
		for kind, sev := range map[string]string{monitor.KindNodeOverload: monitor.Critical, monitor.KindVoltageTHD: monitor.Warning, monitor.KindPowerFactorLow: monitor.Warning} {
			if a := f.one(map[string]string{"kind": kind}); a.Severity != sev || a.Status != monitor.Raised {
				t.Errorf("%s: %+v", kind, a)
			}
		}
		if a := f.one(map[string]string{"kind": monitor.KindDeviceUnreachable}); a.Status != monitor.Cleared {
			t.Errorf("unreachable not cleared: %+v", a)
		}
		// 96 %: still critical (hysteresis); 94 %: down to warning; 80 %: cleared.
		for _, step := range []struct {
			w      int64
			status string
			sev    string
		}{{96_000, monitor.Raised, monitor.Critical}, {94_000, monitor.Raised, monitor.Warning}, {80_000, monitor.Cleared, monitor.Warning}} {
			s := good
			s.PowerW = step.w
			r.out[meter.ID] = s
			poll(t0.Add(2 * time.Minute))
			if a := f.one(map[string]string{"kind": monitor.KindNodeOverload}); a.Status != step.status || a.Severity != step.sev {
				t.Errorf("%d W: %+v", step.w, a)
			}
		}
		for _, kind := range []string{monitor.KindVoltageTHD, monitor.KindPowerFactorLow} {
			if a := f.one(map[string]string{"kind": kind}); a.Status != monitor.Cleared {
				t.Errorf("%s not cleared: %+v", kind, a)
			}
		}
		all, next, err := f.a.DeviceReadings(viewer, meter.ID, store.ReadingQuery{Limit: 10})
		if err != nil || len(all) != 10 || next == "" || !all[0].At.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("page %d %q %v", len(all), next, err)
		}
		seen := map[string]bool{}
		total := 0
		for q := (store.ReadingQuery{Limit: 7}); ; {
			page, next, err := f.a.DeviceReadings(viewer, meter.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range page {
				k := x.At.String() + x.Quantity + x.Phase
				if seen[k] {
					t.Fatalf("reading %s twice", k)
				}
				seen[k] = true
			}
			total += len(page)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		perSample := len(good.Readings("x"))
		// t0, t0+1m, and t0+2m (three polls at the same time store one set).
		if total != 3*perSample {
			t.Fatalf("%d readings, want %d", total, 3*perSample)
		}
		if _, _, err := f.a.DeviceReadings(viewer, "dev_nope", store.ReadingQuery{}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown device: %v", err)
		}
	})
}

// TestBatteryHealth: the sweep raises a battery whose state of health is low.
func TestBatteryHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newAlarmFixture(t, s)
		b, err := app.Create(bg, f.a, app.Batteries, asset.BatteryFields{Serial: "B-1", BatteryType: "T", CapacityWh: 50_000, SoHPct: 65})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Create(bg, f.a, app.Batteries, asset.BatteryFields{Serial: "B-2", BatteryType: "T", CapacityWh: 50_000, SoHPct: 95}); err != nil {
			t.Fatal(err)
		}
		f.sweep(t0)
		if a := f.one(nil); a.Source != "battery/"+b.ID || a.Severity != monitor.Critical {
			t.Fatalf("%+v", a)
		}
		if err := f.mon.ObserveBatteryTemperature(bg, *b, 61_000); err != nil {
			t.Fatal(err)
		}
		if a := f.one(map[string]string{"kind": monitor.KindBatteryOverTemp}); a.Status != monitor.Raised {
			t.Fatalf("%+v", a)
		}
	})
}

// TestWebhook: a running monitor POSTs every alarm change to the operator's URL.
func TestWebhook(t *testing.T) {
	got := make(chan app.AlarmNotice, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n app.AlarmNotice
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &n) != nil {
			t.Errorf("webhook got %s %q", r.Header.Get("Content-Type"), body)
		}
		got <- n
	}))
	defer srv.Close()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newAlarmFixture(t, s, "CP-1")
		f.a.SetAlarmWebhook(srv.URL)
		f.mon.Start()
		f.a.Bus.Publish(app.Event{Kind: "status", StationID: "CP-1", Data: chg.StatusChange{StationID: "CP-1", EVSENo: 1, ConnectorNo: 1, Status: "Faulted", ErrorCode: "HighTemperature", At: t0}})
		select {
		case n := <-got:
			if n.Event != "alarm.raised" || n.Alarm.Details["error_code"] != "HighTemperature" || n.Alarm.StationID != "CP-1" {
				t.Fatalf("%+v", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook")
		}
		f.mon.Stop()
	})
}
