package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Load mode: several stations run the closed loop concurrently; every message validates (the
// fake checks), all get answers, and the report adds up.
func TestRunLoad(t *testing.T) {
	for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFakeCSMS(t, v)
			cfg := testConfig(f.url(), v)
			cfg.Stations, cfg.Load, cfg.Duration = 4, true, 400*time.Millisecond
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Connected != 4 || rep.Messages < 40 || rep.Rate <= 0 || rep.P50 <= 0 || rep.P99 < rep.P50 {
				t.Fatalf("report %s", rep)
			}
			if rep.Errors != 0 {
				t.Fatalf("errors in %s", rep)
			}
			if !strings.HasPrefix(rep.String(), "stations=4 messages=") {
				t.Fatalf("summary line %q", rep)
			}
			// Count messages, not deliveries: a message whose answer timed out under load is sent
			// again after the reconnect with its original id, as a CSMS expects of a replay.
			var starts, stops int
			seen := map[string]bool{}
			for _, r := range f.received() {
				if seen[r.msg.ID] {
					continue
				}
				seen[r.msg.ID] = true
				switch {
				case r.msg.Action == "StartTransaction" || eventTypeOf(r.msg) == "Started":
					starts++
				case r.msg.Action == "StopTransaction" || eventTypeOf(r.msg) == "Ended":
					stops++
				}
			}
			if starts == 0 || stops < starts-cfg.Stations {
				t.Fatalf("%d starts, %d stops", starts, stops)
			}
		})
	}
}

func TestRunNoCSMS(t *testing.T) {
	cfg := Config{URL: "ws://127.0.0.1:1/ocpp", Duration: 150 * time.Millisecond, BackoffMin: 10 * time.Millisecond}
	rep, err := Run(context.Background(), cfg)
	if err == nil || rep.Connected != 0 || rep.Errors == 0 {
		t.Fatalf("unreachable CSMS: %s, %v", rep, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{URL: "http://x/ocpp"},
		{Kind: "hydrogen"},
		{Stations: -1},
		{Protocol: 9},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
