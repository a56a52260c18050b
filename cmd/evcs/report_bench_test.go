package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/benchtest"
)

// BenchmarkReports measures the answer time of every report over 30 and 365 days, and of the
// sessions list (first page and a deep cursor page), through a running server over a seeded
// store: one sub-benchmark per probe, each request (sent and its body read) timed after one
// warm-up request. It runs only when EVCS_BENCH_DB names a store, e.g.
//
//	evcs seed --scale --db sqlite:/tmp/evcs-scale.db --end 2026-11-01
//	EVCS_BENCH_DB=sqlite:/tmp/evcs-scale.db EVCS_BENCH_TO=2026-11-01 go test ./cmd/evcs -run '^$' -bench BenchmarkReports -benchtime 20x -timeout 1h
//
// EVCS_BENCH_TO (YYYY-MM-DD, default today) is the end of the seeded data; ranges end there.
// Each sub-benchmark reports p50-ms, p95-ms and bytes (the answer's size); the target, every
// report and list page under 300 ms p95, is read off p95-ms.
func BenchmarkReports(b *testing.B) {
	dsn := os.Getenv("EVCS_BENCH_DB")
	if dsn == "" {
		b.Skip("EVCS_BENCH_DB not set")
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	if v := os.Getenv("EVCS_BENCH_TO"); v != "" {
		end, _ = time.Parse(time.DateOnly, v)
	}
	s := startBenchMain(b, dsn)
	rng := func(days int) string {
		return "from=" + end.AddDate(0, 0, -days).Format(time.DateOnly) + "&to=" + end.Format(time.DateOnly)
	}
	type probe struct{ name, path string }
	var probes []probe
	add := func(report string, days int, groupBy, extra string) {
		name := fmt.Sprintf("%s %dd", report, days)
		if groupBy != "" {
			name += " by " + groupBy
		}
		if extra != "" {
			name += " " + extra
		}
		probes = append(probes, probe{name, "/api/v1/reports/" + report + "?" + rng(days) + "&group_by=" + groupBy + "&" + extra})
	}
	const ams = "tz=Europe/Amsterdam"
	for _, p := range []struct {
		report string
		days   int
		group  string
		extra  string
	}{
		{"energy", 30, "day", ""}, {"energy", 30, "day", ams}, {"energy", 30, "station", ""}, {"energy", 30, "tariff", ""},
		{"energy", 30, "day,site", ams}, {"energy", 30, "purchaser", ""}, {"energy", 30, "vehicle", ""},
		{"energy", 365, "month", ""}, {"energy", 365, "month", ams}, {"energy", 365, "week,site", ams}, {"energy", 365, "station", ""},
		{"energy", 365, "day", ams}, {"energy", 365, "purchaser", ""},
		{"sessions", 30, "day,station", ""}, {"sessions", 365, "month,site", ams},
		{"revenue", 30, "site", ""}, {"revenue", 365, "month,site", ams}, {"revenue", 365, "station", ams},
		{"topups", 30, "day", ams}, {"topups", 30, "purchaser", ""}, {"topups", 365, "month", ams}, {"topups", 365, "week", ""},
		{"utilisation", 30, "day", ams}, {"utilisation", 30, "station", ""}, {"utilisation", 365, "month,site", ams}, {"utilisation", 365, "station", ams},
		{"availability", 30, "station", ""}, {"availability", 365, "month,site", ams},
		{"peak-load", 30, "day", ams}, {"peak-load", 365, "month", ams}, {"peak-load", 365, "", ""},
		{"swaps", 30, "day", ""}, {"swaps", 365, "month", ams},
		{"battery-soh", 30, "day", ""}, {"battery-soh", 365, "month", ams},
	} {
		add(p.report, p.days, p.group, p.extra)
	}
	probes = append(probes,
		probe{"energy 30d csv by day,station", "/api/v1/reports/energy?" + rng(30) + "&group_by=day,station&format=csv"},
		probe{"energy 365d xlsx by month,site", "/api/v1/reports/energy?" + rng(365) + "&group_by=month,site&format=xlsx"},
		probe{"sessions list first page", "/api/v1/sessions?limit=50"},
	)
	// A deep page: the cursor of a session id 90 % into the id order.
	var deep string
	_ = s.m.Store.SQL().QueryRow("SELECT id FROM sessions ORDER BY id LIMIT 1 OFFSET (SELECT COUNT(*) * 9 / 10 FROM sessions)").Scan(&deep)
	if deep != "" {
		probes = append(probes, probe{"sessions list deep page", "/api/v1/sessions?limit=50&cursor=" + base64.RawURLEncoding.EncodeToString([]byte(deep))})
	}
	for _, p := range probes {
		b.Run(benchtest.Name(p.name), func(b *testing.B) {
			benchtest.Latency(b, func() (int, time.Duration) { return benchGet(b, s.base, p.path) })
		})
	}
}

// benchGet sends GET path with the admin token to the server at base and reads the answer,
// failing b unless it is 200. It returns the answer's size and the time from sending the
// request to having read the body.
func benchGet(b *testing.B, base, path string) (int, time.Duration) {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	return len(body), d
}
