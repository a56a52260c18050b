package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/demo"
)

// TestDemo: `serve --demo` seeds an operator and its stations charge and are billed by
// themselves; a second start on the same database does not seed again.
func TestDemo(t *testing.T) {
	demo.MeterEvery = 100 * time.Millisecond // the demo's tempo, faster
	db := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	cfg := config.Config{Listen: "127.0.0.1:0", DB: db, Demo: true, LogFormat: "text", LogLevel: "warn",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20"}
	m := &Main{Cfg: cfg, Stderr: testWriter{t}}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	events, unsub := m.App.Bus.Subscribe(1024)
	s := &testServer{t: t, M: m, Base: "http://" + m.Addr(), Token: demo.AdminToken}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var billed *charging.Session
	for billed == nil {
		select {
		case ev := <-events:
			if ses, ok := ev.Data.(*charging.Session); ok && ev.Kind == "session.ended" && ses.CostMinor != nil && *ses.CostMinor > 0 {
				billed = ses
			}
		case <-ctx.Done():
			t.Fatal("no billed session within 90 s of the demo's start")
		}
	}
	unsub()
	var rc obj
	s.must(200, "GET", "/api/v1/sessions/"+billed.ID+"/receipt", nil, &rc)
	var st struct{ Items []obj }
	s.must(200, "GET", "/api/v1/stations", nil, &st)
	if len(st.Items) != 6 {
		t.Errorf("%d demo stations", len(st.Items))
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Again on the same database: nothing is seeded twice.
	m2 := &Main{Cfg: cfg, Stderr: testWriter{t}}
	if err := m2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m2.Shutdown(context.Background())
	s2 := &testServer{t: t, M: m2, Base: "http://" + m2.Addr(), Token: demo.AdminToken}
	s2.must(200, "GET", "/api/v1/stations", nil, &st)
	if len(st.Items) != 6 {
		t.Errorf("after restart: %d demo stations", len(st.Items))
	}
}
