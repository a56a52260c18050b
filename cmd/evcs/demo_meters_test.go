package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/demo"
)

// TestDemoModbusMeter: `serve --demo` serves the demo's site meter and active filter as
// simulated Modbus devices on free local ports and points their devices at them: the device
// poller reads them over Modbus TCP like real ones, and the load manager takes the site
// meter's fresh reading as the load of the node it measures.
func TestDemoModbusMeter(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	cfg := config.Config{Listen: "127.0.0.1:0", DB: db, Demo: true, LogFormat: "text", LogLevel: "warn",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20"}
	m := &Main{Cfg: cfg, Stderr: testWriter{t}}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	s := &testServer{t: t, M: m, Base: "http://" + m.Addr(), Token: demo.AdminToken}
	v, ok := demoMeters.Load(m)
	if !ok {
		t.Fatal("no simulated Modbus devices")
	}
	served := v.(*demo.Meters).Devices
	if len(served) != 2 {
		t.Fatalf("served %v, want the site meter and the filter", served)
	}
	var devs struct{ Items []obj }
	s.must(200, "GET", "/api/v1/devices", nil, &devs)
	meter, site, node := "", "", ""
	for _, d := range devs.Items {
		id := d["id"].(string)
		if d["modbus_address"] != served[id] {
			t.Errorf("device %s at %v, served at %s", d["name"], d["modbus_address"], served[id])
		}
		if d["kind"] == "meter" {
			meter, site, node = id, d["site_id"].(string), d["node_id"].(string)
		}
	}
	res, err := m.App.Monitor().PollDevices(context.Background(), time.Now().UTC())
	if err != nil || res.Polled != 2 || res.Failed != 0 {
		t.Fatalf("poll %+v %v", res, err)
	}
	var rs struct{ Items []obj }
	s.must(200, "GET", "/api/v1/devices/"+meter+"/readings?quantity=power_active", nil, &rs)
	if len(rs.Items) == 0 {
		t.Fatal("no power reading stored")
	}
	var load struct {
		Meters []obj
		Nodes  []obj
	}
	s.must(200, "POST", "/api/v1/sites/"+site+"/load/rebalance", nil, &load)
	if len(load.Meters) != 1 || load.Meters[0]["fresh"] != true || load.Meters[0]["node"] != node || load.Meters[0]["power_w"].(float64) <= 0 {
		t.Fatalf("site load meters %v", load.Meters)
	}
	for _, n := range load.Nodes {
		if n["id"] == node && n["meter_w"] != load.Meters[0]["power_w"] {
			t.Fatalf("node %v: not the meter's load %v", n, load.Meters[0])
		}
	}
}
