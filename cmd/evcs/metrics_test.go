package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// scrape reads /metrics.
func (s *testServer) scrape() string {
	s.t.Helper()
	res, err := http.Get(s.Base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		s.t.Fatalf("/metrics: %d", res.StatusCode)
	}
	return string(b)
}

// metric returns the value of the sample name{labels…} (labels given as k="v" pairs, in any
// order, a subset of the sample's), or -1 when there is none.
func metric(text, name string, labels ...string) float64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		sp := strings.LastIndexByte(rest, ' ')
		for _, l := range labels {
			if !strings.Contains(rest[:sp], l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(rest[sp+1:], 64)
		if err == nil {
			return v
		}
	}
	return -1
}

// TestMetricsAfterSimSession, on each store: a simulated 1.6 station charges once and is sent
// a command; /metrics then shows it connected, its messages by action and result with their
// latency, the command, the active session while it runs, the ledger postings and the store's
// transaction latency.
func TestMetricsAfterSimSession(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		s.fleet("TAG-MET", "MET-16")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := sim.NewStation(simConfig(s, ocppj.V16, "TAG-MET"), "MET-16")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		go st.Run(ctx) //nolint:errcheck // ends with ctx
		if err := st.WaitOnline(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.StartCharging(ctx, 1, "TAG-MET"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SendMeterValues(ctx, 1); err != nil {
			t.Fatal(err)
		}
		var cmd obj
		s.must(201, "POST", "/api/v1/stations/MET-16/commands", obj{"kind": "clear_cache"}, &cmd)

		during := s.scrape()
		if v := metric(during, "evcs_sessions_active"); v != 1 {
			t.Errorf("evcs_sessions_active = %v during the session, want 1", v)
		}
		if v := metric(during, "evcs_ocpp_connected_stations", `protocol="ocpp1.6"`); v < 1 {
			t.Errorf("evcs_ocpp_connected_stations{ocpp1.6} = %v", v)
		}
		if _, err := st.StopCharging(ctx, 1, "Local"); err != nil {
			t.Fatal(err)
		}

		after := s.scrape()
		checks := []struct {
			name   string
			labels []string
			min    float64
		}{
			{"evcs_ocpp_messages_total", []string{`protocol="ocpp1.6"`, `action="BootNotification"`, `result="ok"`}, 1},
			{"evcs_ocpp_messages_total", []string{`protocol="ocpp1.6"`, `action="StartTransaction"`, `result="ok"`}, 1},
			{"evcs_ocpp_messages_total", []string{`protocol="ocpp1.6"`, `action="StopTransaction"`, `result="ok"`}, 1},
			{"evcs_ocpp_message_duration_seconds_count", []string{`protocol="ocpp1.6"`, `action="MeterValues"`}, 1},
			{"evcs_ocpp_calls_total", []string{`action="ClearCache"`, `result="ok"`}, 1},
			{"evcs_ocpp_call_duration_seconds_count", []string{`action="ClearCache"`}, 1},
			{"evcs_ledger_postings_total", []string{`kind="hold"`}, 1},
			{"evcs_store_tx_duration_seconds_count", []string{`kind="write"`, `result="ok"`}, 1},
			{"evcs_store_tx_duration_seconds_count", []string{`kind="read"`, `result="ok"`}, 1},
			{"evcs_http_requests_total", []string{`route="/api/v1/stations/{id}/commands"`, `code="201"`}, 1},
		}
		for _, c := range checks {
			if v := metric(after, c.name, c.labels...); v < c.min {
				t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, v, c.min)
			}
		}
		if v := metric(after, "evcs_sessions_active"); v != 0 {
			t.Errorf("evcs_sessions_active = %v after the session, want 0", v)
		}
	})
}

// TestPprofNeedsAdmin: /debug/pprof/ answers 401 without a token, 403 to a non-admin token,
// and serves the profiles to the admin token.
func TestPprofNeedsAdmin(t *testing.T) {
	s := startMain(t, "sqlite:"+t.TempDir()+"/evcs.db")
	get := func(token, path string) int { code, _ := debugGet(t, s.Base, token, path); return code }
	var viewer obj
	s.must(201, "POST", "/api/v1/api-tokens", obj{"name": "viewer", "role": "viewer"}, &viewer)
	for _, c := range []struct {
		token, path string
		want        int
	}{
		{"", "/debug/pprof/", 401},
		{"not-a-token", "/debug/pprof/", 401},
		{viewer["token"].(string), "/debug/pprof/", 403},
		{testAdminToken, "/debug/pprof/", 200},
		{testAdminToken, "/debug/pprof/goroutine?debug=1", 200},
		{testAdminToken, "/debug/pprof/heap", 200},
		{"", "/debug/pprof/heap", 401},
	} {
		if got := get(c.token, c.path); got != c.want {
			t.Errorf("GET %s with %q: %d, want %d", c.path, c.token, got, c.want)
		}
	}
}

// TestDebugStatements: /debug/statements is for admin tokens only, refuses a bad duration, and
// answers a table of the store's statements over the seconds asked for. (What the table counts
// is TestStatementProfile's, in internal/store/sqlstore.)
func TestDebugStatements(t *testing.T) {
	s := startMain(t, "sqlite:"+t.TempDir()+"/evcs.db")
	get := func(token, path string) (int, string) { return debugGet(t, s.Base, token, path) }
	var viewer obj
	s.must(201, "POST", "/api/v1/api-tokens", obj{"name": "viewer", "role": "viewer"}, &viewer)
	for _, c := range []struct {
		token, path string
		want        int
	}{
		{"", "/debug/statements?seconds=1", 401},
		{viewer["token"].(string), "/debug/statements?seconds=1", 403},
		{testAdminToken, "/debug/statements?seconds=0", 400},
		{testAdminToken, "/debug/statements?seconds=301", 400},
		{testAdminToken, "/debug/statements?seconds=ten", 400},
	} {
		if got, body := get(c.token, c.path); got != c.want {
			t.Errorf("GET %s with %q: %d (%s), want %d", c.path, c.token, got, body, c.want)
		}
	}
	code, body := get(testAdminToken, "/debug/statements?seconds=1")
	if code != 200 || !strings.HasPrefix(body, "store statements over 1") || !strings.Contains(body, "statement\n") {
		t.Errorf("a one-second profile: %d\n%s", code, body)
	}
}

// debugGet GETs base+path with the bearer token (none if ""): the status and the body.
func debugGet(t *testing.T, base, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}
