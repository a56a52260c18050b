package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReportSpeed measures p95 answer times of every report and of the sessions list (first
// page and a deep cursor page) through a running server over a seeded store. It runs only when
// EVCS_BENCH_DB names one, e.g.
//
//	evcs seed --scale --db sqlite:/tmp/evcs-scale.db
//	EVCS_BENCH_DB=sqlite:/tmp/evcs-scale.db go test ./cmd/evcs -run TestReportSpeed -v -timeout 1h
//
// EVCS_BENCH_TO (YYYY-MM-DD, default today) is the end of the seeded data; ranges end there.
func TestReportSpeed(t *testing.T) {
	dsn := os.Getenv("EVCS_BENCH_DB")
	if dsn == "" {
		t.Skip("EVCS_BENCH_DB not set")
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	if v := os.Getenv("EVCS_BENCH_TO"); v != "" {
		end, _ = time.Parse(time.DateOnly, v)
	}
	s := startMain(t, dsn)
	month := "from=" + end.AddDate(0, 0, -30).Format(time.DateOnly) + "&to=" + end.Format(time.DateOnly)
	year := "from=" + end.AddDate(0, 0, -365).Format(time.DateOnly) + "&to=" + end.Format(time.DateOnly)
	type probe struct{ name, path string }
	var probes []probe
	for _, r := range []struct{ name, groups string }{
		{"energy", "day,week,month,site,station,tariff,purchaser,day&tz=Europe/Amsterdam"},
		{"sessions", "day,station"}, {"revenue", "day,site"}, {"topups", "day,purchaser"},
		{"utilisation", "day,station"}, {"availability", "day,station"}, {"peak-load", "day,site"},
		{"swaps", "day"}, {"battery-soh", "month"},
	} {
		for _, g := range strings.Split(r.groups, ",") {
			probes = append(probes, probe{r.name + " 30d by " + g, "/api/v1/reports/" + r.name + "?" + month + "&group_by=" + g})
		}
	}
	probes = append(probes,
		probe{"energy 365d by month", "/api/v1/reports/energy?" + year + "&group_by=month"},
		probe{"revenue 365d by site", "/api/v1/reports/revenue?" + year + "&group_by=site"},
		probe{"energy 30d csv by day,station", "/api/v1/reports/energy?" + month + "&group_by=day,station&format=csv"},
		probe{"energy 30d xlsx by day", "/api/v1/reports/energy?" + month + "&group_by=day&format=xlsx"},
		probe{"sessions list first page", "/api/v1/sessions?limit=50"},
	)
	// A deep page: the cursor of a session id 90 % into the id order.
	var deep string
	_ = s.M.Store.SQL().QueryRow("SELECT id FROM sessions ORDER BY id LIMIT 1 OFFSET (SELECT COUNT(*) * 9 / 10 FROM sessions)").Scan(&deep)
	if deep != "" {
		probes = append(probes, probe{"sessions list deep page", "/api/v1/sessions?limit=50&cursor=" + base64.RawURLEncoding.EncodeToString([]byte(deep))})
	}
	n := 20
	fmt.Printf("%-40s %9s %9s %8s\n", "probe ("+s.M.Store.Dialect()+")", "p50 ms", "p95 ms", "bytes")
	for _, p := range probes {
		var ds []time.Duration
		size := 0
		for i := 0; i < n+1; i++ {
			req, _ := http.NewRequest(http.MethodGet, s.Base+p.path, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token)
			t0 := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			d := time.Since(t0)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", p.path, resp.StatusCode, b)
			}
			size = len(b)
			if i > 0 { // the first warms caches
				ds = append(ds, d)
			}
		}
		slices.Sort(ds)
		p95 := ds[(len(ds)*95+99)/100-1]
		fmt.Printf("%-40s %9.1f %9.1f %8d\n", p.name, ms(ds[len(ds)/2]), ms(p95), size)
		if p95 > 300*time.Millisecond {
			t.Logf("%s: p95 %.1f ms over 300 ms", p.name, ms(p95))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
