package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/modbus"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// waitEvent waits for the first bus event that match accepts.
func waitEvent(t *testing.T, ctx context.Context, events <-chan app.Event, what string, match func(app.Event) bool) app.Event {
	t.Helper()
	for {
		select {
		case e := <-events:
			if match(e) {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

func alarmEvent(kind, station, alarmKind string) func(app.Event) bool {
	return func(e app.Event) bool {
		a, ok := e.Data.(monitor.Alarm)
		return e.Kind == kind && e.StationID == station && ok && a.Kind == alarmKind
	}
}

// TestAlarmsE2E: a simulated station connects, goes away and stays away: the sweep past two
// heartbeat intervals raises an offline alarm the API lists; the station comes back and the
// alarm clears. A Faulted status raises a connector alarm with its OCPP error code, which an
// operator acknowledges. A simulated Modbus meter is polled and its readings are listed.
func TestAlarmsE2E(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var site obj
		s.must(201, "POST", "/api/v1/sites", obj{"name": "Depot", "time_zone": "Europe/Amsterdam"}, &site)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "AL-1", "site_id": site["id"]}, nil)
		events, stop := s.M.App.Bus.Subscribe(1024)
		defer stop()
		mon := s.M.App.Monitor()
		cfg := simConfig(s, ocppj.V16, "TAG-AL")

		st, err := sim.NewStation(cfg, "AL-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Boot(ctx); err != nil {
			t.Fatal(err)
		}
		// A sweep while it is connected records it as present.
		if err := mon.Sweep(ctx, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}

		// Faulted with an OCPP error code.
		if _, err := st.Call(ctx, "StatusNotification", map[string]any{"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted",
			"vendorErrorCode": "E42", "timestamp": time.Now().UTC().Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, ctx, events, "connector alarm", alarmEvent("alarm.raised", "AL-1", monitor.KindConnectorFaulted))
		var page struct {
			Items      []monitor.Alarm
			NextCursor string `json:"next_cursor"`
		}
		s.must(200, "GET", "/api/v1/alarms?kind=connector_faulted&station_id=AL-1&status=raised", nil, &page)
		if len(page.Items) != 1 || page.Items[0].Details["error_code"] != "GroundFailure" || page.Items[0].Details["vendor_error_code"] != "E42" ||
			page.Items[0].Source != "connector/AL-1/1/1" {
			t.Fatalf("connector alarms %+v", page.Items)
		}
		fault := page.Items[0]
		var acked monitor.Alarm
		s.must(200, "POST", "/api/v1/alarms/"+fault.ID+"/acknowledge", nil, &acked)
		if acked.Status != monitor.Acknowledged {
			t.Fatalf("acknowledged %+v", acked)
		}
		s.must(409, "POST", "/api/v1/alarms/"+fault.ID+"/acknowledge", nil, nil)
		s.must(422, "GET", "/api/v1/alarms?status=open", nil, nil)

		// Gone, and away for longer than two heartbeat intervals.
		st.Close()
		waitEvent(t, ctx, events, "disconnect", func(e app.Event) bool { return e.Kind == "station.disconnected" && e.StationID == "AL-1" })
		later := time.Now().UTC().Add(3 * s.M.Cfg.Heartbeat)
		if err := mon.Sweep(ctx, later); err != nil {
			t.Fatal(err)
		}
		s.must(200, "GET", "/api/v1/alarms?kind=station_offline&source="+url.QueryEscape("station/AL-1"), nil, &page)
		if len(page.Items) != 1 || page.Items[0].Status != monitor.Raised || page.Items[0].Severity != monitor.Critical {
			t.Fatalf("offline alarms %+v", page.Items)
		}
		offline := page.Items[0]
		if err := mon.Sweep(ctx, later.Add(time.Minute)); err != nil { // once, however often it sweeps
			t.Fatal(err)
		}
		s.must(200, "GET", "/api/v1/alarms?kind=station_offline", nil, &page)
		if len(page.Items) != 1 {
			t.Fatalf("offline alarms after a second sweep %+v", page.Items)
		}

		// Back: the alarm clears.
		st2, err := sim.NewStation(cfg, "AL-1")
		if err != nil {
			t.Fatal(err)
		}
		defer st2.Close()
		if err := st2.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, ctx, events, "offline alarm cleared", alarmEvent("alarm.cleared", "AL-1", monitor.KindStationOffline))
		var got monitor.Alarm
		s.must(200, "GET", "/api/v1/alarms/"+offline.ID, nil, &got)
		if got.Status != monitor.Cleared || got.ClearedBy != "system" {
			t.Fatalf("after reconnect %+v", got)
		}

		// A simulated Modbus meter, polled.
		meter := modbus.NewSim(false)
		if err := meter.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer meter.Stop() //nolint:errcheck
		var dev obj
		s.must(201, "POST", "/api/v1/devices", obj{"site_id": site["id"], "kind": "meter", "name": "Site meter", "modbus_address": meter.Addr(), "modbus_unit": 1}, &dev)
		res, err := mon.PollDevices(ctx, time.Now().UTC())
		if err != nil || res.Polled != 1 || res.Failed != 0 {
			t.Fatalf("poll %+v %v", res, err)
		}
		var readings struct {
			Items []struct {
				At                           time.Time
				Quantity, Phase, Unit, Value string
			}
			NextCursor string `json:"next_cursor"`
		}
		s.must(200, "GET", fmt.Sprintf("/api/v1/devices/%s/readings?quantity=voltage", dev["id"]), nil, &readings)
		if len(readings.Items) != 3 || readings.Items[0].Phase != "L1" || readings.Items[0].Unit != "V" {
			t.Fatalf("voltage readings %+v", readings.Items)
		}
		if v := readings.Items[0].Value; len(v) < 3 || v[:2] != "23" {
			t.Fatalf("voltage %q is not about 230 V", v)
		}
		s.must(200, "GET", fmt.Sprintf("/api/v1/devices/%s/readings?limit=5", dev["id"]), nil, &readings)
		if len(readings.Items) != 5 || readings.NextCursor == "" {
			t.Fatalf("first page %+v", readings)
		}
		s.must(200, "GET", fmt.Sprintf("/api/v1/devices/%s/readings?limit=5&cursor=%s", dev["id"], readings.NextCursor), nil, &readings)
		if len(readings.Items) != 5 {
			t.Fatalf("second page %+v", readings)
		}
		s.must(404, "GET", "/api/v1/devices/dev_nope/readings", nil, nil)
		// Quiet and in range: no power-quality alarm.
		s.must(200, "GET", "/api/v1/alarms?source="+url.QueryEscape("device/"+dev["id"].(string)), nil, &page)
		if len(page.Items) != 0 {
			t.Fatalf("alarms for a healthy meter %+v", page.Items)
		}
	})
}

// TestSimModbusCmd: `evcs sim modbus` is a subcommand of `evcs sim`.
func TestSimModbusCmd(t *testing.T) {
	root := newRootCmd()
	c, _, err := root.Find([]string{"sim", "modbus"})
	if err != nil || c.Name() != "modbus" || c.Parent().Name() != "sim" {
		t.Fatalf("evcs sim modbus: %v %v", c, err)
	}
	root.SetArgs([]string{"sim", "modbus", "--kind", "transformer"})
	if err := root.Execute(); err == nil {
		t.Fatal("a bad --kind was accepted")
	}
}
