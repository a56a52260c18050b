package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// faultsFlag runs the full-size fault tests (also EVCS_TEST_FAULTS=1: an EVCS_TEST_* variable, which
// the nodes the tests start ignore, where any other EVCS_* name makes them refuse to start); CI
// runs small ones.
var faultsFlag = flag.Bool("evcs.faults", false, "run the full-size fault tests (1,000 sessions, 10,000-station storm)")

func fullFaults() bool { return *faultsFlag || os.Getenv("EVCS_TEST_FAULTS") == "1" }

// evcsBinary builds the evcs binary once per test run.
var evcsBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "evcs-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "evcs")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// evcsNode is a real `evcs serve` process, to be killed with -9.
type evcsNode struct {
	t    *testing.T
	Addr string
	args []string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// freeAddr is a loopback address with a port free now (the node binds it a moment later).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode starts `evcs serve` on dsn and waits until it is ready. extra are more flags.
func startNode(t *testing.T, dsn string, extra ...string) *evcsNode {
	t.Helper()
	bin, err := evcsBinary()
	if err != nil {
		t.Fatal(err)
	}
	n := &evcsNode{t: t, Addr: freeAddr(t), out: &syncBuffer{}}
	n.args = append([]string{"serve", "--listen", n.Addr, "--db", dsn, "--admin-token", testAdminToken, "--log-format", "text",
		"--log-level", "warn", "--call-timeout", "5s"}, extra...)
	n.start(bin)
	t.Cleanup(n.Kill)
	return n
}

func (n *evcsNode) start(bin string) {
	n.t.Helper()
	n.cmd = exec.Command(bin, n.args...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	n.cmd.Env = os.Environ()
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	n.waitReady(30 * time.Second)
}

// waitReady polls /readyz (an external process: polling its health with a deadline).
func (n *evcsNode) waitReady(d time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			n.t.Fatalf("evcs exited: %v\n%s", n.cmd.ProcessState, n.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+n.Addr+"/readyz", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		cancel()
		if err == nil && res.StatusCode == 200 {
			return
		}
		time.Sleep(20 * time.Millisecond) // health polling of an external process
	}
	n.t.Fatalf("evcs not ready within %v\n%s", d, n.out.String())
}

// Kill ends the process with SIGKILL and waits for it.
func (n *evcsNode) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Kill()
	<-n.done
}

// Restart starts the killed node again with the same flags (and address).
func (n *evcsNode) Restart() {
	n.t.Helper()
	bin, _ := evcsBinary()
	n.start(bin)
}

// api is a client of the node's REST API.
func (n *evcsNode) api() *testServer {
	return &testServer{t: n.t, Base: "http://" + n.Addr, Token: testAdminToken}
}

func (n *evcsNode) wsURL() string { return "ws://" + n.Addr + "/ocpp" }

// tcpProxy is the test's load balancer: each new connection goes to the next backend that
// accepts it (round robin); connections of a backend that dies just drop.
type tcpProxy struct {
	ln       net.Listener
	mu       sync.Mutex
	backends []string
	next     int
	conns    map[net.Conn]bool // open client and backend connections, closed at cleanup
	wg       sync.WaitGroup
}

func newProxy(t *testing.T, backends ...string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, backends: backends, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.pipe(c) })
	}
}

func (p *tcpProxy) track(c net.Conn) func() {
	p.mu.Lock()
	p.conns[c] = true
	p.mu.Unlock()
	return func() { p.mu.Lock(); delete(p.conns, c); p.mu.Unlock(); c.Close() }
}

func (p *tcpProxy) pipe(c net.Conn) {
	defer p.track(c)()
	p.mu.Lock()
	order := append(append([]string{}, p.backends[p.next:]...), p.backends[:p.next]...)
	p.next = (p.next + 1) % len(p.backends)
	p.mu.Unlock()
	var b net.Conn
	for _, addr := range order {
		var err error
		if b, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			break
		}
	}
	if b == nil {
		return
	}
	defer p.track(b)()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
}
