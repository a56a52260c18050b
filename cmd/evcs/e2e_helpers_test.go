package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/store/storetest"
)

const testAdminToken = "test-admin-token-0123456789"

// testServer is a running Main and a client for its API.
type testServer struct {
	t     *testing.T
	M     *Main
	Base  string
	Token string
}

// startMain starts EVCS on port 0 over the store at dsn, as `evcs serve` would.
func startMain(t *testing.T, dsn string) *testServer {
	t.Helper()
	cfg := config.Config{Listen: "127.0.0.1:0", DB: dsn, AdminToken: testAdminToken, LogFormat: "text", LogLevel: "warn",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20"}
	m := &Main{Cfg: cfg, Stderr: testWriter{t}}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
	})
	return &testServer{t: t, M: m, Base: "http://" + m.Addr(), Token: testAdminToken}
}

// eachStore runs fn against a fresh Main per store engine.
func eachStore(t *testing.T, fn func(t *testing.T, s *testServer)) {
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) { fn(t, startMain(t, o.DSN(t))) })
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// do sends a request with the server's token and decodes a JSON answer into out (if not nil).
// It returns the status code and raw body.
func (s *testServer) do(method, path string, in any, out any) (int, []byte) {
	return s.doAs(s.Token, method, path, in, out)
}

func (s *testServer) doAs(token, method, path string, in any, out any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	switch b := in.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.Base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, raw
}

// must is do with an expected status.
func (s *testServer) must(want int, method, path string, in any, out any) []byte {
	s.t.Helper()
	code, raw := s.do(method, path, in, out)
	if code != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, raw)
	}
	return raw
}

type obj = map[string]any
