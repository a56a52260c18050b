package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/cluster"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
	"github.com/evcs/evcs/internal/store/storetest"
)

// Fault tests: crashes, lost database connections, node deaths and reconnect storms. Small
// sizes run in CI; the full sizes with -evcs.faults or EVCS_TEST_FAULTS=1.

// provision creates a site, n stations (prefix0001…), a purchaser with a funded token; it
// returns the account id.
func provision(t *testing.T, s *testServer, prefix, tag string, n int) string {
	t.Helper()
	var site, user obj
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Depot " + prefix, "time_zone": "Europe/Amsterdam"}, &site)
	parallel(n, 16, func(i int) {
		s.must(201, "POST", "/api/v1/stations", obj{"id": fmt.Sprintf("%s%04d", prefix, i+1), "site_id": site["id"]}, nil)
	})
	s.must(201, "POST", "/api/v1/users", obj{"name": "Fleet", "email": tag + "@example.com", "role": "purchaser"}, &user)
	acc := user["account_id"].(string)
	s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": tag, "type": "ISO14443", "account_id": acc}, nil)
	code, raw := s.doKey("POST", "/api/v1/accounts/"+acc+"/topups", obj{"amount": obj{"amount": "1000000.00", "currency": "EUR"}, "method": "counter"}, "fund-"+tag)
	if code != 201 {
		t.Fatalf("topup: %d %s", code, raw)
	}
	return acc
}

func (s *testServer) doKey(method, path string, in any, key string) (int, []byte) {
	code, _, raw := s.send(s.Token, method, path, map[string]string{"Idempotency-Key": key}, in, nil)
	return code, raw
}

// parallel runs fn(0..n-1) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// fleetSims starts n simulated stations prefix0001… against url, alternating 1.6 and 2.0.1,
// and waits until all are online.
func fleetSims(t *testing.T, ctx context.Context, url, prefix, tag string, n int) []*sim.Station {
	t.Helper()
	sts := make([]*sim.Station, n)
	for i := range n {
		v := ocppj.V201
		if i%2 == 0 {
			v = ocppj.V16
		}
		cfg := sim.Config{URL: url, Protocol: v, Tag: tag, Kind: "ac", EVSEs: 1, MeterInterval: time.Minute,
			CallTimeout: 10 * time.Second, BackoffMin: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond, Seed: int64(i + 1)}
		st, err := sim.NewStation(cfg, fmt.Sprintf("%s%04d", prefix, i+1))
		if err != nil {
			t.Fatal(err)
		}
		sts[i] = st
		go st.Run(ctx) //nolint:errcheck // ends with ctx
		t.Cleanup(func() { _ = st.Close() })
	}
	var failed atomic.Int64
	parallel(n, 64, func(i int) {
		if err := sts[i].WaitOnline(ctx); err != nil {
			failed.Add(1)
		}
	})
	if failed.Load() > 0 {
		t.Fatalf("%d of %d stations not online", failed.Load(), n)
	}
	return sts
}

// drain waits until a station has delivered every queued transaction message (it replays
// them after each boot).
func drain(t *testing.T, ctx context.Context, st *sim.Station) {
	for st.Queued() > 0 {
		if err := st.WaitOnline(ctx); err != nil {
			t.Errorf("%s: %d messages never delivered: %v", st.ID(), st.Queued(), err)
			return
		}
		if err := st.Flush(ctx); err != nil && !errors.Is(err, sim.ErrOffline) {
			t.Errorf("%s flush: %v", st.ID(), err)
			return
		}
	}
}

// checkBilledOnce proves that each station's one transaction became exactly one completed
// session with a CDR, that the energy is what the station metered, and that the ledger
// balances and moved exactly the sessions' costs.
func checkBilledOnce(t *testing.T, s *testServer, acc string, sts []*sim.Station, metered map[string]int64) {
	t.Helper()
	byStation := map[string][]obj{}
	cursor := ""
	for {
		var page struct {
			Items      []obj
			NextCursor string `json:"next_cursor"`
		}
		s.must(200, "GET", "/api/v1/sessions?limit=500&account_id="+acc+"&cursor="+url.QueryEscape(cursor), nil, &page)
		for _, it := range page.Items {
			byStation[it["station_id"].(string)] = append(byStation[it["station_id"].(string)], it)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	total := decimal.Zero
	for _, st := range sts {
		ss := byStation[st.ID()]
		if len(ss) != 1 {
			t.Errorf("%s: %d sessions, want 1", st.ID(), len(ss))
			continue
		}
		se := ss[0]
		if se["status"] != "completed" || se["cdr_id"] == nil || se["cdr_id"] == "" {
			t.Errorf("%s: session %v not completed with a CDR", st.ID(), se)
			continue
		}
		if want, ok := metered[st.ID()]; ok && int64(se["energy_wh"].(float64)) != want {
			t.Errorf("%s: energy %v Wh, station metered %d", st.ID(), se["energy_wh"], want)
		}
		if c, ok := se["cost"].(map[string]any); ok {
			d, err := decimal.Parse(c["amount"].(string))
			if err != nil {
				t.Fatal(err)
			}
			total, _ = total.Add(d)
		}
	}
	if len(byStation) != len(sts) {
		t.Errorf("sessions on %d stations, want %d", len(byStation), len(sts))
	}
	var check obj
	s.must(200, "GET", "/api/v1/ledger/check", nil, &check)
	if check["ok"] != true {
		t.Errorf("ledger check = %v", check)
	}
	var a struct {
		Balance struct{ Amount string } `json:"balance"`
	}
	s.must(200, "GET", "/api/v1/accounts/"+acc, nil, &a)
	bal, _ := decimal.Parse(a.Balance.Amount)
	spent, _ := decimal.MustParse("1000000.00").Sub(bal)
	if spent.Cmp(total) != 0 {
		t.Errorf("account paid %s for sessions costing %s", spent, total)
	}
}

// TestFaultKillNodeDuringSessions kills `evcs serve` with -9 while every station charges and
// messages are in flight, starts it again; the stations reconnect, replay what they queued and
// stop: every session is billed exactly once and the ledger balances. SQLite always (the file
// lock goes with the killed process); PostgreSQL when configured.
func TestFaultKillNodeDuringSessions(t *testing.T) {
	n := 50
	if fullFaults() {
		n = 1000
	}
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			dsn := o.DSN(t)
			node := startNode(t, dsn)
			api := node.api()
			acc := provision(t, api, "KILL-", "TAG-KILL", n)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			sts := fleetSims(t, ctx, node.wsURL(), "KILL-", "TAG-KILL", n)
			start := make([]sim.TxInfo, n)
			parallel(n, 64, func(i int) {
				tx, err := sts[i].StartCharging(ctx, 1, "TAG-KILL")
				if err != nil || tx.AuthStatus != "Accepted" {
					t.Errorf("%s start: %+v %v", sts[i].ID(), tx, err)
				}
				start[i] = tx
			})
			if t.Failed() {
				return
			}
			// Meter values in flight while the node dies: each either committed or replayed.
			var inflight sync.WaitGroup
			for _, st := range sts {
				inflight.Go(func() {
					mctx, mcancel := context.WithTimeout(ctx, 30*time.Second)
					defer mcancel()
					_, _ = st.SendMeterValues(mctx, 1)
				})
			}
			t0 := time.Now()
			node.Kill()
			node.Restart()
			t.Logf("%d sessions: killed and restarted in %v", n, time.Since(t0))
			inflight.Wait()
			metered := map[string]int64{}
			var mu sync.Mutex
			parallel(n, 64, func(i int) {
				final := sts[i].MeterSample(1)
				if _, err := sts[i].StopCharging(ctx, 1, "Local"); err != nil && !errors.Is(err, sim.ErrOffline) {
					t.Errorf("%s stop: %v", sts[i].ID(), err) // offline: queued, replayed after the reconnect
				}
				mu.Lock()
				metered[sts[i].ID()] = final.EnergyWh - start[i].MeterStartWh
				mu.Unlock()
			})
			// Stops may still sit in a station's queue until it is back online.
			parallel(n, 64, func(i int) { drain(t, ctx, sts[i]) })
			t.Logf("%d sessions stopped %v after the restart", n, time.Since(t0))
			checkBilledOnce(t, api, acc, sts, metered)
		})
	}
}

// TestFaultPostgresConnectionKilled terminates every PostgreSQL backend of EVCS (the pool and
// the listener) several times while stations charge: no session or posting is half-written,
// the energy billed is what the stations metered, and EVCS carries on.
func TestFaultPostgresConnectionKilled(t *testing.T) {
	base := storetest.PostgresDSN(t)
	u, _ := url.Parse(base)
	q := u.Query()
	appName := "evcs_fault_" + fmt.Sprint(time.Now().UnixNano())
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()
	s := startMain(t, u.String())
	n := 20
	acc := provision(t, s, "PGK-", "TAG-PGK", n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sts := fleetSims(t, ctx, s.wsURL(), "PGK-", "TAG-PGK", n)
	admin, err := sql.Open("pgx", os.Getenv(storetest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	start := make([]sim.TxInfo, n)
	parallel(n, n, func(i int) {
		tx, err := sts[i].StartCharging(ctx, 1, "TAG-PGK")
		if err != nil || tx.AuthStatus != "Accepted" {
			t.Errorf("%s start: %+v %v", sts[i].ID(), tx, err)
		}
		start[i] = tx
	})
	// Stations keep metering; backends are terminated under them.
	stop := make(chan struct{})
	var meters sync.WaitGroup
	for _, st := range sts {
		meters.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mctx, mcancel := context.WithTimeout(ctx, 20*time.Second)
				_, _ = st.SendMeterValues(mctx, 1) // an error is the CSMS's answer to a lost transaction; the station retries
				mcancel()
			}
		})
	}
	killed := 0
	for range 3 {
		// Wait for writes to be under way, then cut every EVCS connection.
		var rows int
		waitFor(t, 10*time.Second, "EVCS connections", func() bool {
			_ = admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&rows)
			return rows > 0
		})
		var k int
		if err := admin.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&k); err != nil {
			t.Fatal(err)
		}
		killed += k
		// EVCS recovers: the API answers again.
		waitFor(t, 10*time.Second, "ready after terminate", func() bool {
			code, _ := s.do("GET", "/readyz", nil, nil)
			return code == 200
		})
	}
	close(stop)
	meters.Wait()
	t.Logf("terminated %d backends in 3 rounds", killed)
	metered := map[string]int64{}
	for i, st := range sts {
		final := st.MeterSample(1)
		if _, err := st.StopCharging(ctx, 1, "Local"); err != nil && !errors.Is(err, sim.ErrOffline) {
			t.Errorf("%s stop: %v", st.ID(), err)
		}
		metered[st.ID()] = final.EnergyWh - start[i].MeterStartWh
	}
	parallel(n, n, func(i int) { drain(t, ctx, sts[i]) })
	checkBilledOnce(t, s, acc, sts, metered)
}

// TestFaultNodeDiesInCluster: two `evcs serve` processes on one PostgreSQL behind a TCP load
// balancer. One is killed with -9: its stations reconnect to the other, commands reach them
// again, and a station that does not come back reads offline once the dead node's lease ends.
func TestFaultNodeDiesInCluster(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	n1, n2 := startNode(t, dsn), startNode(t, dsn)
	lb := newProxy(t, n1.Addr, n2.Addr)
	api := n2.api()
	const n = 20
	provision(t, api, "ND-", "TAG-ND", n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sts := fleetSims(t, ctx, "ws://"+lb.Addr()+"/ocpp", "ND-", "TAG-ND", n)
	// A station that will not come back (its reconnect delay outlasts the test).
	lone, err := sim.NewStation(sim.Config{URL: "ws://" + n1.Addr + "/ocpp", Protocol: ocppj.V201, EVSEs: 1,
		BackoffMin: 10 * time.Minute, BackoffMax: 10 * time.Minute, CallTimeout: 5 * time.Second}, "ND-LONE")
	if err != nil {
		t.Fatal(err)
	}
	api.must(201, "POST", "/api/v1/stations", obj{"id": "ND-LONE", "site_id": siteOf(t, api, "ND-0001")}, nil)
	go lone.Run(ctx) //nolint:errcheck // ends with ctx
	defer lone.Close()
	if err := lone.WaitOnline(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range append(sts, lone) {
		if !api.connected(st.ID()) {
			t.Fatalf("%s not connected as seen from node 2", st.ID())
		}
	}
	t0 := time.Now()
	n1.Kill()
	// Every station answers commands through node 2 again.
	for _, st := range sts {
		waitFor(t, 30*time.Second, st.ID()+" commanded after the kill", func() bool {
			code, _ := api.do("POST", "/api/v1/stations/"+st.ID()+"/commands", obj{"kind": "trigger", "message": "Heartbeat"}, nil)
			return code == 201
		})
	}
	back := time.Since(t0)
	gone := waitFor(t, 30*time.Second, "the lone station offline", func() bool { return !api.connected("ND-LONE") })
	t.Logf("node killed: all %d stations commanded through node 2 %v after the kill; the lone station read offline %v after the kill (%v of polling; default lease %v)",
		n, back, time.Since(t0), gone, cluster.DefaultLease)
	if time.Since(t0) > 20*time.Second {
		t.Errorf("presence outlived the lease: %v", time.Since(t0))
	}
}

func siteOf(t *testing.T, s *testServer, station string) string {
	var st obj
	s.must(200, "GET", "/api/v1/stations/"+station, nil, &st)
	return st["site_id"].(string)
}

// TestFaultReconnectStorm: every station of a fleet connects and boots within a short window
// (1,000 in 1 s in CI; 10,000 in 10 s in the full run): every boot is accepted.
func TestFaultReconnectStorm(t *testing.T) {
	n, window := 1000, time.Second
	if fullFaults() {
		n, window = 10000, 10*time.Second
	}
	o := storetest.Openers()[0]
	if os.Getenv(storetest.EnvPostgres) != "" {
		o = storetest.Openers()[1]
	}
	t.Run(o.Name, func(t *testing.T) {
		// EVCS in a process of its own: 10,000 sockets on each side do not share one file limit.
		node := startNode(t, o.DSN(t))
		s := node.api()
		provision(t, s, "ST-", "TAG-ST", n)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var connects atomic.Int64
		sts := make([]*sim.Station, n)
		tick := time.NewTicker(max(window/time.Duration(n), time.Microsecond))
		defer tick.Stop()
		t0 := time.Now()
		for i := range n {
			v := []ocppj.Version{ocppj.V16, ocppj.V201, ocppj.V21}[i%3]
			cfg := sim.Config{URL: node.wsURL(), Protocol: v, EVSEs: 1, CallTimeout: 30 * time.Second, BackoffMin: 100 * time.Millisecond,
				BackoffMax: 2 * time.Second, Seed: int64(i + 1), OnFrame: func(_ string, out bool, frame []byte) {
					if out && json.Valid(frame) && len(frame) > 0 && containsBoot(frame) {
						connects.Add(1)
					}
				}}
			st, err := sim.NewStation(cfg, fmt.Sprintf("ST-%04d", i+1))
			if err != nil {
				t.Fatal(err)
			}
			sts[i] = st
			go st.Run(ctx) //nolint:errcheck // ends with ctx
			<-tick.C       // pacing the storm, not synchronising
		}
		defer parallel(n, 256, func(i int) { _ = sts[i].Close() })
		var offline atomic.Int64
		parallel(n, 256, func(i int) {
			wctx, wcancel := context.WithTimeout(ctx, window+60*time.Second)
			defer wcancel()
			if sts[i].WaitOnline(wctx) != nil {
				offline.Add(1)
			}
		})
		all := time.Since(t0)
		var rejected int
		for _, st := range sts {
			var boot struct{ Status string }
			_ = json.Unmarshal(st.LastResponse("BootNotification"), &boot)
			if boot.Status != "Accepted" {
				rejected++
			}
		}
		t.Logf("storm: %d stations started within %v, all online after %v; %d boot attempts, %d not online, %d last boot not accepted",
			n, window, all, connects.Load(), offline.Load(), rejected)
		if offline.Load() > 0 || rejected > 0 {
			t.Errorf("%d stations not online, %d boots not accepted", offline.Load(), rejected)
		}
		if int(connects.Load()) != n {
			t.Errorf("%d boot attempts for %d stations: some boots failed and were retried", connects.Load(), n)
		}
	})
}

func containsBoot(frame []byte) bool {
	var m []json.RawMessage
	if json.Unmarshal(frame, &m) != nil || len(m) < 3 {
		return false
	}
	var action string
	return json.Unmarshal(m[2], &action) == nil && action == "BootNotification"
}
