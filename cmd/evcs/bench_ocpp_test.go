package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// BenchmarkInbound measures the whole inbound OCPP path: WebSocket frame → decode and schema
// check → use case → store commit → reply, through real connections to a running Main. Each
// iteration is one step of the closed loop of `evcs sim --load` (Heartbeat, Authorize, start,
// 3 × meter values, stop; a start or stop also sends its StatusNotifications), run by
// EVCS_BENCH_STATIONS stations (default 64) in parallel, one CALL in flight each. msgs/s counts
// the CALLs answered with a CALLRESULT per second; allocs/msg and B/msg are per answered CALL and
// count both sides, the simulated stations included.
//
//	go test ./cmd/evcs -run '^$' -bench Inbound -benchtime 20000x
//	EVCS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test ./cmd/evcs -run '^$' -bench Inbound/postgres
func BenchmarkInbound(b *testing.B) {
	for _, o := range storetest.Openers() {
		b.Run(o.Name, func(b *testing.B) {
			srv := startBenchMain(b, o.DSN(b))
			for _, v := range []ocppj.Version{ocppj.V16, ocppj.V201} {
				var pool *benchPool
				b.Run(v.Subprotocol(), func(b *testing.B) {
					if pool == nil { // set up once; b.Run calls this again with a larger b.N
						pool = newBenchPool(b, srv, v, benchStations())
					}
					pool.run(b)
				})
				if pool != nil {
					pool.close()
				}
			}
		})
	}
}

func benchStations() int {
	if n, err := strconv.Atoi(os.Getenv("EVCS_BENCH_STATIONS")); err == nil && n > 0 {
		return n
	}
	return 64
}

// benchMain is a Main started for benchmarks, with a tiny REST client.
type benchMain struct {
	tb   testing.TB
	m    *Main
	base string
}

func startBenchMain(tb testing.TB, dsn string) *benchMain {
	tb.Helper()
	cfg := config.Config{Listen: "127.0.0.1:0", DB: dsn, AdminToken: testAdminToken, LogFormat: "text", LogLevel: "error",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20"}
	cfg.OCPPRate = "off" // measure the server, not the per-station limit
	m := &Main{Cfg: cfg, Stderr: io.Discard}
	if err := m.Start(context.Background()); err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
	})
	return &benchMain{tb: tb, m: m, base: "http://" + m.Addr()}
}

func (s *benchMain) must(want int, method, path string, in any, out any) {
	s.tb.Helper()
	raw, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			s.tb.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// provision registers n stations prefix0001… and, for each, a driver tag-0001… whose account
// never runs out. One driver per station, as on a real site: one account's postings serialise
// (they lock its balance), so a single account shared by every station measures that lock.
func (s *benchMain) provision(prefix, tag string, n int) {
	var site obj
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Bench " + prefix, "time_zone": "UTC"}, &site)
	for i := range n {
		s.must(201, "POST", "/api/v1/stations", obj{"id": fmt.Sprintf("%s%04d", prefix, i+1), "site_id": site["id"]}, nil)
		var user obj
		uid := benchTag(tag, i)
		s.must(201, "POST", "/api/v1/users", obj{"name": "Bench " + uid, "email": strings.ToLower(uid) + "@example.com", "role": "purchaser"}, &user)
		acc := user["account_id"].(string)
		s.must(200, "PATCH", "/api/v1/accounts/"+acc, obj{"credit_limit": "1000000.00"}, nil)
		s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": uid, "type": "ISO14443", "account_id": acc}, nil)
	}
}

// benchTag is the driver token of station i.
func benchTag(tag string, i int) string { return fmt.Sprintf("%s-%04d", tag, i+1) }

// benchPool is a fixed set of booted stations; each runs the load cycle one step per call.
type benchPool struct {
	free    chan *benchStation
	all     []*benchStation
	answers atomic.Int64 // CALLRESULTs received by the stations
}

type benchStation struct {
	st   *sim.Station
	tag  string
	step int // position in the cycle, kept across runs
}

const cycleLen = 7 // Heartbeat, Authorize, start, 3 × meter values, stop

func newBenchPool(b *testing.B, srv *benchMain, v ocppj.Version, n int) *benchPool {
	b.Helper()
	prefix := "B" + strconv.Itoa(int(v)) + "-"
	tag := "BENCH-" + strconv.Itoa(int(v))
	srv.provision(prefix, tag, n)
	cfg := sim.Config{URL: "ws://" + srv.m.Addr() + "/ocpp", Protocol: v, Tag: tag, Kind: "ac", EVSEs: 1,
		MeterInterval: time.Minute, CallTimeout: 10 * time.Second, Seed: 1}
	p := &benchPool{free: make(chan *benchStation, n)}
	cfg.OnFrame = func(_ string, out bool, frame []byte) {
		if !out && bytes.HasPrefix(bytes.TrimLeft(frame, " \t\r\n"), []byte("[3")) {
			p.answers.Add(1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		st, err := sim.NewStation(cfg, fmt.Sprintf("%s%04d", prefix, i+1))
		if err != nil {
			b.Fatal(err)
		}
		bs := &benchStation{st: st, tag: benchTag(tag, i)}
		p.all = append(p.all, bs)
		if err := st.Connect(ctx); err != nil {
			p.close()
			b.Fatal(err)
		}
		if r, err := st.Boot(ctx); err != nil || r.Status != "Accepted" {
			p.close()
			b.Fatalf("boot: %+v %v", r, err)
		}
		p.free <- bs
	}
	return p
}

func (p *benchPool) close() {
	for _, s := range p.all {
		_ = s.st.Close()
	}
}

// run spreads b.N steps over the stations, one goroutine per station, one call in flight each.
func (p *benchPool) run(b *testing.B) {
	b.SetParallelism((len(p.all) + 1) / 2) // RunParallel starts parallelism × GOMAXPROCS goroutines
	var failed atomic.Int64
	var once sync.Once
	var firstErr error
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU()
	st0, tx0 := sqlstore.Counts()
	a0 := p.answers.Load()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := <-p.free // a goroutine beyond the stations waits for one to be free
		defer func() { p.free <- s }()
		ctx := context.Background()
		for pb.Next() {
			if err := s.next(ctx); err != nil {
				failed.Add(1)
				once.Do(func() { firstErr = err })
			}
		}
	})
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	cpu := processCPU() - cpu0
	st1, tx1 := sqlstore.Counts()
	msgs := float64(p.answers.Load() - a0)
	if e := b.Elapsed(); e > 0 && msgs > 0 {
		b.ReportMetric(msgs/e.Seconds(), "msgs/s")
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/msgs, "allocs/msg")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/msgs, "B/msg")
		// CPU per message is steadier than msgs/s on a shared machine (both sides counted).
		b.ReportMetric(float64(cpu.Microseconds())/msgs, "cpu-µs/msg")
		// Statements and transactions per message: the store's work, independent of the machine.
		b.ReportMetric(float64(st1-st0)/msgs, "stmts/msg")
		b.ReportMetric(float64(tx1-tx0)/msgs, "txs/msg")
	}
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d steps failed; first: %v", f, b.N, firstErr)
	}
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// next sends the station's next CALL of the cycle and waits for its answer.
func (s *benchStation) next(ctx context.Context) error {
	step := s.step
	s.step = (s.step + 1) % cycleLen
	var err error
	switch step {
	case 0:
		_, err = s.st.Heartbeat(ctx)
	case 1:
		var res string
		if res, err = s.st.Authorize(ctx, s.tag); err == nil && res != "Accepted" {
			err = fmt.Errorf("authorize: %s", res)
		}
	case 2:
		var tx sim.TxInfo
		if tx, err = s.st.StartCharging(ctx, 1, s.tag); err == nil && tx.AuthStatus != "Accepted" {
			err = fmt.Errorf("start: %s", tx.AuthStatus)
		}
	case 3, 4, 5:
		_, err = s.st.SendMeterValues(ctx, 1)
	case 6:
		_, err = s.st.StopCharging(ctx, 1, "Local")
	}
	if err != nil {
		return fmt.Errorf("%s step %d: %w", s.st.ID(), step, err)
	}
	return nil
}
