package sim

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// mockCSMS is the independent node CSMS of the conformance harness (ocpp-rpc, strict schema
// mode), with its log lines collected.
type mockCSMS struct {
	port    string
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func startMockCSMS(t *testing.T) *mockCSMS {
	t.Helper()
	dir, err := filepath.Abs("../../../shared/conformance")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("SKIP (not a pass): node is not installed, cannot run the conformance mock CSMS")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ocpp-rpc")); err != nil {
		t.Skipf("SKIP (not a pass): %s/node_modules missing; run `npm ci` there", dir)
	}
	cmd := exec.Command("node", filepath.Join(dir, "mock-csms.mjs"), "--port", "0", "--quiet", "--tag", "TAG-OK")
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	m := &mockCSMS{changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m.mu.Lock()
			m.lines = append(m.lines, sc.Text())
			close(m.changed)
			m.changed = make(chan struct{})
			m.mu.Unlock()
		}
	}()
	line := m.waitLine(t, "LISTENING ")
	m.port = strings.TrimSpace(strings.TrimPrefix(line[strings.Index(line, "LISTENING "):], "LISTENING "))
	return m
}

func (m *mockCSMS) waitLine(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		for _, l := range m.lines {
			if strings.Contains(l, substr) {
				m.mu.Unlock()
				return l
			}
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("mock CSMS never printed %q; output:\n%s", substr, m.output())
		}
	}
}

func (m *mockCSMS) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.lines, "\n")
}

// One station per protocol against the independent mock CSMS: it survives the mock's round of
// remote commands (which must all succeed and pass ocpp-rpc's strict schema checks), then
// boots → authorizes → charges → stops, each step accepted.
func TestAgainstMockCSMS(t *testing.T) {
	mock := startMockCSMS(t)
	defer func() {
		if testing.Verbose() {
			t.Log("mock CSMS output:\n" + mock.output())
		}
	}()
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id := "SIM-MOCK-" + strings.ReplaceAll(v.String(), ".", "")
			cfg := testConfig("ws://127.0.0.1:"+mock.port+"/ocpp", v)
			cfg.MeterInterval = 100 * time.Millisecond // remote-started session reports while it runs
			st, err := NewStation(cfg, id)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if br, err := st.Boot(ctx); err != nil || br.Status != "Accepted" {
				t.Fatalf("boot %+v %v", br, err)
			}
			if err := st.SendStatusAll(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Heartbeat(ctx); err != nil {
				t.Fatal(err)
			}
			if s, err := st.Authorize(ctx, "TAG-OK"); err != nil || s != "Accepted" {
				t.Fatalf("authorize known tag: %q %v", s, err)
			}
			if s, err := st.Authorize(ctx, "TAG-BAD"); err != nil || s == "Accepted" {
				t.Fatalf("authorize unknown tag: %q %v", s, err)
			}
			mock.waitLine(t, id+" exercise done")
			out := mock.output()
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, id) && (strings.Contains(l, "FAILED") || strings.Contains(l, "SCHEMA FAILURE") || strings.Contains(l, "bad frame")) {
					t.Errorf("mock CSMS: %s", l)
				}
			}
			mock.waitLine(t, id+" remote-started transaction")

			tx, err := st.StartCharging(ctx, 1, "TAG-OK")
			if err != nil || tx.AuthStatus != "Accepted" {
				t.Fatalf("start: %+v %v", tx, err)
			}
			if v == ocppj.V16 && tx.CSMSID < 1000 {
				t.Fatalf("1.6 transactionId from the mock: %d", tx.CSMSID)
			}
			for i := 0; i < 2; i++ {
				if _, err := st.SendMeterValues(ctx, 1); err != nil {
					t.Fatalf("meter values: %v", err)
				}
			}
			if _, err := st.StopCharging(ctx, 1, "Local"); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if st.Queued() != 0 {
				t.Fatalf("%d transaction messages unanswered", st.Queued())
			}
			for _, l := range strings.Split(mock.output(), "\n") {
				if strings.Contains(l, id) && strings.Contains(l, "SCHEMA FAILURE") {
					t.Errorf("mock CSMS: %s", l)
				}
			}
		})
	}
}
