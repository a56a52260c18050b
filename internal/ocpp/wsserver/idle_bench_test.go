//go:build linux

package wsserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/ocpp/csms16"
	"github.com/evcs/evcs/internal/ocpp/csms201"
	"github.com/evcs/evcs/internal/ocpp/echo"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/opendb"
	"github.com/evcs/evcs/internal/store/storetest"
)

// BenchmarkIdleConn measures what an idle station costs the server: EVCS_IDLE_CONNS (default
// 2000) stations connect over real WebSockets, boot and send a Heartbeat, then stay silent. The
// stations run in a child process (this test binary again, see TestIdleClients), so everything
// measured here is the server's. After a full garbage collection with the freed memory given
// back to the OS, it reports per connection the growth of
//
//	rss-B/conn    the process's resident memory (what an operator sees)
//	heap-B/conn   live heap (runtime.MemStats.HeapInuse)
//	stack-B/conn  goroutine stacks (StackInuse)
//
// for EVCS (wsserver + csms + app on SQLite, and on PostgreSQL when EVCS_TEST_POSTGRES is set)
// and for the echo reference server (`evcs bench echo`), so EVCS's figure reads as a ratio to
// echo's. EVCS_IDLE_HEAPPROFILE=DIR writes each case's heap profile there. A running server also keeps garbage-collection headroom (GOGC) on top of the live heap.
//
//	go test ./internal/ocpp/wsserver -run '^$' -bench IdleConn -benchtime 1x
//	EVCS_IDLE_CONNS=10000 go test ./internal/ocpp/wsserver -run '^$' -bench IdleConn -benchtime 1x
func BenchmarkIdleConn(b *testing.B) {
	n := idleConns(b)
	if os.Getenv("EVCS_IDLE_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 64 // fine enough to see a few bytes per connection
	}
	for _, o := range storetest.Openers() {
		b.Run("evcs-"+o.Name, func(b *testing.B) {
			url, count := startEVCS(b, o.DSN(b), n)
			measureIdle(b, url, n, count)
		})
	}
	b.Run("echo", func(b *testing.B) {
		url := serve(b, &echo.Server{})
		measureIdle(b, url, n, nil)
	})
}

func idleConns(b *testing.B) int {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("EVCS_IDLE_CONNS")); err == nil && v > 0 {
		n = v
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && uint64(n)+200 > lim.Cur {
		b.Skipf("EVCS_IDLE_CONNS=%d needs more open files than the limit %d", n, lim.Cur)
	}
	return n
}

// serve runs h on a loopback listener and returns the OCPP URL prefix.
func serve(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ocpp/", h)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	b.Cleanup(func() { _ = hs.Close() })
	return "ws://" + ln.Addr().String() + "/ocpp/"
}

// startEVCS wires the OCPP server as `evcs serve` does (1.6 and 2.0.1 route tables over the use
// cases and a store) with n registered stations IDLE-00001….
func startEVCS(b *testing.B, dsn string, n int) (string, func() int) {
	ctx := context.Background()
	db, err := opendb.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	a := app.New(db, nil, slog.New(slog.DiscardHandler))
	a.Settings.HeartbeatInterval = 300 * time.Second
	srv := wsserver.New(a, wsserver.Options{RateLimit: wsserver.RateLimit{Rate: -1}}, csms201.New(a), csms16.New(a))
	a.Commander = srv
	now := time.Now().UTC()
	err = db.InTx(ctx, func(tx store.Tx) error {
		site := asset.Site{ID: "site_idle", SiteFields: asset.SiteFields{Name: "Idle", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		if err := tx.Sites().Create(ctx, &site); err != nil {
			return err
		}
		for i := range n {
			st := asset.Station{ID: idleID(i), StationFields: asset.StationFields{SiteID: site.ID, Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
			if err := tx.Stations().Create(ctx, &st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	url := serve(b, srv)
	b.Cleanup(func() { srv.Close(); a.Close(); db.Close() })
	return url, srv.Count
}

func idleID(i int) string { return fmt.Sprintf("IDLE-%05d", i+1) }

type memSample struct{ rss, heap, stack uint64 }

func sampleMem(b *testing.B) memSample {
	runtime.GC()
	runtime.GC() // the second one frees what finalizers released
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm: RSS is measured on Linux only")
	}
	f := strings.Fields(string(statm))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return memSample{rss: pages * uint64(os.Getpagesize()), heap: ms.HeapInuse, stack: ms.StackInuse}
}

// measureIdle connects n stations from a child process, waits until all are booted and
// registered (count, when given), and reports the memory growth per connection.
func measureIdle(b *testing.B, url string, n int, count func() int) {
	before := sampleMem(b)
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClients$")
	cmd.Env = append(os.Environ(), "EVCS_IDLE_CLIENTS_URL="+url, "EVCS_IDLE_CLIENTS_N="+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if line := sc.Text(); line == "ready" {
			ready = true
			break
		} else if strings.HasPrefix(line, "error") {
			b.Fatal("clients: " + line)
		}
	}
	if !ready {
		b.Fatal("clients ended before all were connected")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	for deadline := time.Now().Add(30 * time.Second); count != nil && count() < n; {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d stations registered", count(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the last replies' work finish
	after := sampleMem(b)
	if dir := os.Getenv("EVCS_IDLE_HEAPPROFILE"); dir != "" { // for `go tool pprof`: who holds the bytes
		f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".heap"))
		if err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	b.ReportMetric(per(after.rss, before.rss), "rss-B/conn")
	b.ReportMetric(per(after.heap, before.heap), "heap-B/conn")
	b.ReportMetric(per(after.stack, before.stack), "stack-B/conn")
	b.ReportMetric(float64(n), "conns")
}

// TestIdleClients is the child process of BenchmarkIdleConn (skipped otherwise): it connects
// EVCS_IDLE_CLIENTS_N stations to EVCS_IDLE_CLIENTS_URL, boots each and sends a Heartbeat,
// prints "ready" and keeps the connections open until its standard input closes.
func TestIdleClients(t *testing.T) {
	url := os.Getenv("EVCS_IDLE_CLIENTS_URL")
	n, _ := strconv.Atoi(os.Getenv("EVCS_IDLE_CLIENTS_N"))
	if url == "" || n <= 0 {
		t.Skip("the child process of BenchmarkIdleConn")
	}
	boot := []byte(`{"reason":"PowerUp","chargingStation":{"vendorName":"EVCS","model":"Idle"}}`)
	conns := make([]*websocket.Conn, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		fail error
	)
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ws, err := idleClient(url+idleID(i), boot)
			if err != nil {
				mu.Lock()
				fail = err
				mu.Unlock()
				return
			}
			conns[i] = ws
		}()
	}
	wg.Wait()
	if fail != nil {
		fmt.Println("error", fail)
		return
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, ws := range conns {
		ws.CloseNow()
	}
}

func idleClient(url string, boot []byte) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"ocpp2.0.1"}})
	if err != nil {
		return nil, err
	}
	for i, call := range []struct {
		action  string
		payload []byte
	}{{"BootNotification", boot}, {"Heartbeat", []byte(`{}`)}} {
		id := strconv.Itoa(i + 1)
		if err := ws.Write(ctx, websocket.MessageText, ocppj.AppendCall(nil, id, call.action, call.payload)); err != nil {
			return nil, err
		}
		_, data, err := ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if m, perr := ocppj.Decode(data); perr != nil || m.Type != ocppj.TypeCallResult || m.ID != id {
			return nil, fmt.Errorf("%s: unexpected answer %s", call.action, data)
		}
	}
	go func() { // read, so that a close or a ping from the server is answered
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return ws, nil
}
