package sim

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// The realistic mix is open loop: sessions with meter values on each station's own clock;
// every message validates (the fake checks) and is answered.
func TestLoadRealistic(t *testing.T) {
	for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFakeCSMS(t, v)
			cfg := testConfig(f.url(), v)
			cfg.Stations, cfg.Load, cfg.Mix, cfg.Duration = 3, true, MixRealistic, 1500*time.Millisecond
			cfg.MeterInterval = 60 * time.Millisecond // meter values every 10–60 ms
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Connected != 3 || rep.Errors != 0 || rep.P90 < rep.P50 || rep.P99 < rep.P90 {
				t.Fatalf("report %s", rep)
			}
			var starts, meters int
			for _, r := range f.received() {
				switch {
				case r.msg.Action == "StartTransaction" || eventTypeOf(r.msg) == "Started":
					starts++
				case r.msg.Action == "MeterValues" || eventTypeOf(r.msg) == "Updated":
					meters++
				}
			}
			// A session waits 60–240 ms, then sends 5–30 meter values 10–60 ms apart.
			if starts == 0 || meters < 5 {
				t.Fatalf("%d starts, %d meter values in %s", starts, meters, rep)
			}
		})
	}
}

// Idle stations boot, report their connectors and stay connected; with more stations than
// PerSourceAddr they dial from 127.0.0.2, 127.0.0.3, … in turn.
func TestLoadIdleSourceAddrs(t *testing.T) {
	f := newFakeCSMS(t, ocppj.V16)
	cfg := testConfig(f.url(), ocppj.V16)
	cfg.Stations, cfg.Load, cfg.Mix, cfg.Duration, cfg.PerSourceAddr, cfg.EVSEs = 5, true, MixIdle, 700*time.Millisecond, 2, 1
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Boot and the StatusNotifications of connectors 0 and 1, per station.
	if rep.Connected != 5 || rep.Peak != 5 || rep.Messages != 15 || rep.Errors != 0 {
		t.Fatalf("report %s", rep)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]int{"127.0.0.2": 2, "127.0.0.3": 2, "127.0.0.4": 1}
	for a, n := range want {
		if f.remotes[a] != n {
			t.Errorf("connections by source address: %v, want %v", f.remotes, want)
			break
		}
	}
}

// MaxMessages ends the run as soon as that many calls were answered.
func TestLoadMaxMessages(t *testing.T) {
	f := newFakeCSMS(t, ocppj.V201)
	cfg := testConfig(f.url(), ocppj.V201)
	cfg.Stations, cfg.Load, cfg.Duration, cfg.MaxMessages = 2, true, 20*time.Second, 60
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages < 60 || rep.Messages > 60+cfg.Stations || time.Since(start) > 10*time.Second {
		t.Fatalf("report %s after %s", rep, time.Since(start))
	}
}

func TestParseSourceAddrs(t *testing.T) {
	for in, want := range map[string][]string{
		"":                      nil,
		"auto":                  nil,
		"127.0.0.2, 127.0.0.3":  {"127.0.0.2", "127.0.0.3"},
		"127.1.0.0/30":          {"127.1.0.1", "127.1.0.2"},
		"127.1.0.9/30":          {"127.1.0.9", "127.1.0.10"},
		"::1":                   {"::1"},
		"127.0.0.2,127.0.0.255": {"127.0.0.2", "127.0.0.255"},
	} {
		got, err := ParseSourceAddrs(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%q: %v, want %v", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != netip.MustParseAddr(want[i]) {
				t.Errorf("%q: %v, want %v", in, got, want)
			}
		}
	}
	for _, bad := range []string{"127.0.0.300", "x", "127.0.0.1/32"} {
		if _, err := ParseSourceAddrs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// With several drivers each station charges with its own driver's tag, TAG-0001, TAG-0002, …
// in turn, in every message that carries one.
func TestLoadDrivers(t *testing.T) {
	for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFakeCSMS(t, v)
			cfg := testConfig(f.url(), v)
			cfg.Stations, cfg.Load, cfg.Drivers, cfg.Duration, cfg.MaxMessages = 3, true, 2, 20*time.Second, 3000
			// All three connect at once: with the default ramp (a station every 2 ms) two
			// stations could use up the message bound against the fast fake before the third
			// had connected.
			cfg.Ramp = time.Nanosecond
			if _, err := Run(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			tags := map[int]map[string]bool{} // per connection
			for _, r := range f.received() {
				for _, key := range []string{`"idTag":"`, `"idToken":{"idToken":"`} {
					if i := strings.Index(r.raw, key); i >= 0 {
						tag := r.raw[i+len(key):]
						tag = tag[:strings.IndexByte(tag, '"')]
						if tags[r.conn] == nil {
							tags[r.conn] = map[string]bool{}
						}
						tags[r.conn][tag] = true
					}
				}
			}
			count := map[string]int{}
			for conn, ts := range tags {
				if len(ts) != 1 {
					t.Errorf("connection %d charged with %v, want one tag", conn, ts)
				}
				for tag := range ts {
					count[tag]++
				}
			}
			if len(tags) != 3 || count["TAG-OK-0001"] != 2 || count["TAG-OK-0002"] != 1 {
				t.Fatalf("stations per tag %v over %d connections", count, len(tags))
			}
		})
	}
}
