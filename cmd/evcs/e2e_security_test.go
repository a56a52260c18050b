package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// logBuffer collects a Main's log output (and still shows it in the test log).
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	l.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// startMainLogged is startMain logging at debug level, in JSON, into a buffer. stop shuts it
// down (once; the test's cleanup calls it too).
func startMainLogged(t *testing.T, dsn string) (s *testServer, logs *logBuffer, stop func()) {
	t.Helper()
	logs = &logBuffer{t: t}
	cfg := config.Config{Listen: "127.0.0.1:0", DB: dsn, AdminToken: testAdminToken, LogFormat: "json", LogLevel: "debug",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20"}
	m := &Main{Cfg: cfg, Stderr: logs}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = m.Shutdown(ctx)
		})
	}
	t.Cleanup(stop)
	return &testServer{t: t, M: m, Base: "http://" + m.Addr(), Token: testAdminToken}, logs, stop
}

func basicAuth(id, pw string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+pw))}}
}

// dialStation opens an OCPP connection and returns the HTTP status of a refused handshake
// (0 when it was accepted; the connection is then closed).
func dialStation(t *testing.T, url string, header http.Header, client *http.Client) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"ocpp2.0.1"}, HTTPHeader: header, HTTPClient: client})
	if err != nil {
		if res == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return res.StatusCode
	}
	ws.CloseNow()
	return 0
}

// TestSecurityEndToEnd, on each store: station password rotation, API token expiry and scopes,
// request size limits on HTTP bodies and WebSocket frames, and — over the whole run, which
// uses passwords, tokens and Basic auth, right and wrong — no secret in the server's log.
func TestSecurityEndToEnd(t *testing.T) {
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			s, logs, stop := startMainLogged(t, o.DSN(t))
			secrets := []string{testAdminToken}
			var site obj
			s.must(201, "POST", "/api/v1/sites", obj{"name": "Secure depot", "time_zone": "UTC"}, &site)

			t.Run("station password rotation", func(t *testing.T) {
				const first, second, wrong = "first-station-secret-01", "second-station-secret-2", "guessed-station-secret"
				secrets = append(secrets, first, second, wrong, base64.StdEncoding.EncodeToString([]byte("SEC-1:"+first)))
				s.must(201, "POST", "/api/v1/stations", obj{"id": "SEC-1", "site_id": site["id"], "ocpp_password": first}, nil)
				url := s.wsURL() + "/SEC-1"
				if code := dialStation(t, url, basicAuth("SEC-1", first), nil); code != 0 {
					t.Fatalf("first password refused: %d", code)
				}
				if code := dialStation(t, url, basicAuth("SEC-1", wrong), nil); code != http.StatusUnauthorized {
					t.Fatalf("wrong password: %d, want 401", code)
				}
				raw := s.must(200, "PATCH", "/api/v1/stations/SEC-1", obj{"ocpp_password": second}, nil)
				if bytes.Contains(raw, []byte(second)) {
					t.Errorf("the station's password is echoed: %s", raw)
				}
				if code := dialStation(t, url, basicAuth("SEC-1", first), nil); code != http.StatusUnauthorized {
					t.Errorf("old password after rotation: %d, want 401", code)
				}
				if code := dialStation(t, url, basicAuth("SEC-1", second), nil); code != 0 {
					t.Errorf("new password refused: %d", code)
				}
				if code := dialStation(t, url, nil, nil); code != http.StatusUnauthorized {
					t.Errorf("no credentials: %d, want 401", code)
				}
			})

			newToken := func(body obj) (id, plain string) {
				var out obj
				s.must(201, "POST", "/api/v1/api-tokens", body, &out)
				plain = out["token"].(string)
				secrets = append(secrets, plain)
				return out["id"].(string), plain
			}

			t.Run("token expiry", func(t *testing.T) {
				if code, _ := s.do("POST", "/api/v1/api-tokens", obj{"name": "past", "expires_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, nil); code != 422 {
					t.Errorf("token expiring in the past: %d, want 422", code)
				}
				id, plain := newToken(obj{"name": "short-lived", "role": "viewer", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
				if code, raw := s.doAs(plain, "GET", "/api/v1/sites", nil, nil); code != 200 {
					t.Fatalf("fresh token: %d %s", code, raw)
				}
				// Let it expire: move its expiry into the past in the store (no waiting).
				err := s.M.Store.InTx(context.Background(), func(tx store.Tx) error {
					tok, err := tx.APITokens().Get(context.Background(), id)
					if err != nil {
						return err
					}
					past := time.Now().Add(-time.Second).UTC()
					tok.ExpiresAt = &past
					return tx.APITokens().Update(context.Background(), tok)
				})
				if err != nil {
					t.Fatal(err)
				}
				if code, raw := s.doAs(plain, "GET", "/api/v1/sites", nil, nil); code != 401 || !bytes.Contains(raw, []byte("expired")) {
					t.Errorf("expired token: %d %s, want 401 token expired", code, raw)
				}
			})

			t.Run("token scopes", func(t *testing.T) {
				_, ro := newToken(obj{"name": "dashboard", "scopes": []string{"*:read"}})
				if code, _ := s.doAs(ro, "GET", "/api/v1/sessions", nil, nil); code != 200 {
					t.Errorf("read-only token reading: %d", code)
				}
				if code, raw := s.doAs(ro, "POST", "/api/v1/sites", obj{"name": "X", "time_zone": "UTC"}, nil); code != 403 {
					t.Errorf("read-only token writing: %d %s, want 403", code, raw)
				}
				_, st := newToken(obj{"name": "integrator", "role": "operator", "scopes": []string{"stations", "sites:read"}})
				if code, raw := s.doAs(st, "POST", "/api/v1/stations", obj{"id": "SEC-2", "site_id": site["id"]}, nil); code != 201 {
					t.Errorf("stations token creating a station: %d %s", code, raw)
				}
				if code, _ := s.doAs(st, "GET", "/api/v1/sites", nil, nil); code != 200 {
					t.Errorf("sites:read: %d", code)
				}
				for _, p := range []string{"/api/v1/sessions", "/api/v1/accounts"} {
					if code, _ := s.doAs(st, "GET", p, nil, nil); code != 403 {
						t.Errorf("stations token on %s: %d, want 403", p, code)
					}
				}
				// A scoped token cannot mint a wider one; scopes are checked.
				_, minter := newToken(obj{"name": "minter", "scopes": []string{"api-tokens", "sites:read"}})
				if code, raw := s.doAs(minter, "POST", "/api/v1/api-tokens", obj{"name": "wide"}, nil); code != 422 {
					t.Errorf("scoped token minting an unscoped one: %d %s, want 422", code, raw)
				}
				if code, raw := s.doAs(minter, "POST", "/api/v1/api-tokens", obj{"name": "narrow", "scopes": []string{"sites:read"}}, nil); code != 201 {
					t.Errorf("scoped token minting a narrower one: %d %s", code, raw)
				} else {
					var out obj
					_ = json.Unmarshal(raw, &out)
					if tok, _ := out["token"].(string); tok != "" {
						secrets = append(secrets, tok)
					}
				}
				if code, _ := s.do("POST", "/api/v1/api-tokens", obj{"name": "bad", "scopes": []string{"Stations:write"}}, nil); code != 422 {
					t.Errorf("malformed scope: %d, want 422", code)
				}
			})

			t.Run("request size limits", func(t *testing.T) {
				big := `{"name":"` + strings.Repeat("x", 2<<20) + `","time_zone":"UTC"}`
				req, _ := http.NewRequest("POST", s.Base+"/api/v1/sites", strings.NewReader(big))
				req.Header.Set("Authorization", "Bearer "+testAdminToken)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
					t.Errorf("2 MiB body: %d %s, want 413 problem", res.StatusCode, res.Header.Get("Content-Type"))
				}
				// A WebSocket frame above 1 MiB closes the connection with 1009.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				s.must(201, "POST", "/api/v1/stations", obj{"id": "SEC-BIG", "site_id": site["id"]}, nil)
				ws, _, err := websocket.Dial(ctx, s.wsURL()+"/SEC-BIG", &websocket.DialOptions{Subprotocols: []string{"ocpp2.0.1"}})
				if err != nil {
					t.Fatal(err)
				}
				defer ws.CloseNow()
				frame := `[2,"1","DataTransfer",{"vendorId":"` + strings.Repeat("x", 3<<19) + `"}]`
				_ = ws.Write(ctx, websocket.MessageText, []byte(frame))
				for {
					if _, _, err := ws.Read(ctx); err != nil {
						if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig {
							t.Errorf("oversized frame: close %v (%v), want 1009", code, err)
						}
						break
					}
				}
			})

			t.Run("console login", func(t *testing.T) {
				const pw = "console-password-0042"
				secrets = append(secrets, pw, "console-wrong-password")
				s.must(201, "POST", "/api/v1/users", obj{"name": "Op", "email": "op-sec@example.com", "role": "operator", "password": pw}, nil)
				cc := s.consoleClient()
				if code, _ := cc.login("op-sec@example.com", "console-wrong-password"); code != 401 {
					t.Errorf("wrong console password: %d", code)
				}
				if code, _ := cc.login("op-sec@example.com", pw); code != 200 {
					t.Errorf("console login: %d", code)
				}
			})

			stop() // every line has been written
			out := logs.String()
			if !strings.Contains(out, `"station":"SEC-1"`) {
				t.Errorf("the log does not show the station refusals at all:\n%s", out)
			}
			for _, sec := range secrets {
				if strings.Contains(out, sec) {
					t.Errorf("secret %q appears in the log", sec)
				}
			}
		})
	}
}

// TestTLSSecurityProfile2: TLS without client certificates; stations authenticate with HTTP
// Basic over the encrypted connection. Clients limited to TLS 1.1 are refused.
func TestTLSSecurityProfile2(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scert, skey := ca.issue(t, "evcs", true)
	cfg := config.Config{Listen: "127.0.0.1:0", DB: "sqlite:" + filepath.Join(dir, "evcs.db"), AdminToken: testAdminToken, LogFormat: "text", LogLevel: "warn",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20",
		TLSCert: write("server.pem", scert), TLSKey: write("server.key", skey)}
	m := &Main{Cfg: cfg, Stderr: testWriter{t}}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	old := http.DefaultClient
	http.DefaultClient = client
	defer func() { http.DefaultClient = old }()
	s := &testServer{t: t, M: m, Base: "https://" + m.Addr(), Token: testAdminToken}
	var site obj
	s.must(201, "POST", "/api/v1/sites", obj{"name": "TLS depot", "time_zone": "UTC"}, &site)
	s.must(201, "POST", "/api/v1/stations", obj{"id": "TLS-P2", "site_id": site["id"], "ocpp_password": "profile-two-secret-0001"}, nil)
	url := "wss://" + m.Addr() + "/ocpp/TLS-P2"
	if code := dialStation(t, url, basicAuth("TLS-P2", "profile-two-secret-0001"), client); code != 0 {
		t.Fatalf("profile 2 station refused: %d", code)
	}
	if code := dialStation(t, url, basicAuth("TLS-P2", "wrong-secret-0000000"), client); code != http.StatusUnauthorized {
		t.Errorf("wrong password over TLS: %d, want 401", code)
	}
	if code := dialStation(t, url, nil, client); code != http.StatusUnauthorized {
		t.Errorf("no credentials over TLS: %d, want 401", code)
	}
	old11 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"ocpp2.0.1"}, HTTPHeader: basicAuth("TLS-P2", "profile-two-secret-0001"), HTTPClient: old11}); err == nil {
		ws.CloseNow()
		t.Error("a TLS 1.1 client was accepted")
	}
}
