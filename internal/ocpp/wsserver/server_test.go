package wsserver_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
	"github.com/evcs/evcs/internal/ocpp/csms16"
	"github.com/evcs/evcs/internal/ocpp/csms201"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlite"
)

func start(t *testing.T) *csmstest.Harness {
	return csmstest.Start(t, func(a *app.App) wsserver.Protocol { return csms201.New(a) })
}

func dial(url string, protos []string, header http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protos, HTTPHeader: header})
}

func TestSubprotocolChoice(t *testing.T) {
	h := start(t)
	ws, _, err := dial(h.URL, []string{"ocpp1.6", "ocpp2.0.1"}, nil) // 1.6 is not served here: 2.0.1 wins
	if err != nil {
		t.Fatal(err)
	}
	if ws.Subprotocol() != "ocpp2.0.1" {
		t.Errorf("subprotocol = %q", ws.Subprotocol())
	}
	ws.CloseNow()
	if _, res, err := dial(h.URL, []string{"ocpp1.6"}, nil); err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("unsupported subprotocol: %v %v", res, err)
	}
	if _, res, err := dial(h.URL, nil, nil); err == nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("no subprotocol: %v %v", res, err)
	}
}

func TestStationAuth(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	// A station whose identity has a ':' and a '/' (percent-encoded), with a password.
	id := "ACME:CP/7"
	err := h.App.Store.InTx(ctx, func(tx store.Tx) error {
		now := time.Now().UTC()
		st := asset.Station{ID: id, StationFields: asset.StationFields{SiteID: "site_t", Kind: asset.KindDC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now,
			PasswordHash: app.HashStationSecret("pa:ss word")}
		return tx.Stations().Create(ctx, &st)
	})
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSuffix(h.URL, csmstest.Station) + "ACME:CP%2F7"
	basic := func(user, pw string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))}}
	}
	if ws, _, err := dial(url, []string{"ocpp2.0.1"}, basic(id, "pa:ss word")); err != nil {
		t.Fatalf("right password refused: %v", err)
	} else {
		ws.CloseNow()
	}
	for name, hdr := range map[string]http.Header{"wrong password": basic(id, "nope"), "no credentials": nil, "other station's name": basic("ACME:CP/8", "pa:ss word")} {
		if _, res, err := dial(url, []string{"ocpp2.0.1"}, hdr); err == nil || res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %v %v", name, res, err)
		}
	}
	unknown := strings.TrimSuffix(h.URL, csmstest.Station) + "NOBODY"
	if _, res, err := dial(unknown, []string{"ocpp2.0.1"}, nil); err == nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown station: %v %v", res, err)
	}
}

// A station connecting again replaces its old connection; a repeated message id on one
// connection gets the first answer.
func TestReplaceAndRepeat(t *testing.T) {
	h := csmstest.Start(t, func(a *app.App) wsserver.Protocol { return csms16.New(a) })
	first := h.Dial(ocppj.V16)
	second := h.Dial(ocppj.V16)
	if _, code := second.Call("Heartbeat", map[string]any{}); code != "" {
		t.Fatal(code)
	}
	if code := first.WaitClosed(); code != websocket.StatusPolicyViolation {
		t.Errorf("old connection closed with %v, want policy violation (replaced)", code)
	}
	frame := ocppj.AppendCall(nil, "same-id", "StartTransaction", []byte(`{"connectorId":1,"idTag":"TAG-OK","meterStart":5,"timestamp":"2026-11-24T10:00:00Z"}`))
	a, _ := second.Raw(frame, "same-id")
	b, _ := second.Raw(frame, "same-id")
	if a["transactionId"] == nil || a["transactionId"] != b["transactionId"] {
		t.Fatalf("repeated id: %v then %v", a, b)
	}
}

// A connection silent for the idle timeout is closed and unregistered; a station that keeps
// talking is not, however long it stays.
func TestIdleTimeout(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "evcs.db"))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(db, nil, nil)
	srv := wsserver.New(a, wsserver.Options{IdleTimeout: 300 * time.Millisecond}, csms16.New(a))
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close(); a.Close(); db.Close() }) // srv first: it waits for its handlers
	now := time.Now().UTC()
	err = db.InTx(ctx, func(tx store.Tx) error {
		site := asset.Site{ID: "s", SiteFields: asset.SiteFields{Name: "S", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		if err := tx.Sites().Create(ctx, &site); err != nil {
			return err
		}
		for _, id := range []string{"QUIET", "CHATTY"} {
			st := asset.Station{ID: id, StationFields: asset.StationFields{SiteID: "s", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
			if err := tx.Stations().Create(ctx, &st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ocpp/"
	quiet, _, err := dial(url+"QUIET", []string{"ocpp1.6"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.CloseNow()
	chatty, _, err := dial(url+"CHATTY", []string{"ocpp1.6"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer chatty.CloseNow()
	start := time.Now()
	for i := 0; time.Since(start) < time.Second; i++ {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := chatty.Write(rctx, websocket.MessageText, ocppj.AppendCall(nil, strconv.Itoa(i), "Heartbeat", []byte(`{}`)))
		if err == nil {
			_, _, err = chatty.Read(rctx)
		}
		cancel()
		if err != nil {
			t.Fatalf("a station sending every 100 ms was cut after %s: %v", time.Since(start), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, _, err := quiet.Read(rctx); err == nil || rctx.Err() != nil {
		t.Fatalf("silent connection: read %v, want it closed by the server", err)
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := srv.Conn("QUIET"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("silent station still registered")
		}
	}
	if _, ok := srv.Conn("CHATTY"); !ok {
		t.Error("talking station unregistered")
	}
}

// A connection's goroutine waits a short while (the hot wait) for the station's next frame
// before a fresh goroutine takes the wait over. Either way every frame is answered: after a
// pause longer than the hot wait, over plain TCP and over TLS (where waiting is reading), and a
// frame whose bytes arrive across the end of the hot wait (read under the idle timeout).
func TestFramesAcrossTheHotWait(t *testing.T) {
	const hot = 50 * time.Millisecond
	defer wsserver.SetHotWait(hot)()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "evcs.db"))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(db, nil, nil)
	srv := wsserver.New(a, wsserver.Options{}, csms16.New(a))
	t.Cleanup(func() { srv.Close(); a.Close(); db.Close() })
	now := time.Now().UTC()
	err = db.InTx(ctx, func(tx store.Tx) error {
		site := asset.Site{ID: "s", SiteFields: asset.SiteFields{Name: "S", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		if err := tx.Sites().Create(ctx, &site); err != nil {
			return err
		}
		st := asset.Station{ID: "HOT", StationFields: asset.StationFields{SiteID: "s", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		return tx.Stations().Create(ctx, &st)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "tls"}[tlsOn], func(t *testing.T) {
			var hs *httptest.Server
			if tlsOn {
				hs = httptest.NewTLSServer(srv)
			} else {
				hs = httptest.NewServer(srv)
			}
			defer hs.Close()
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/ocpp/HOT",
				&websocket.DialOptions{Subprotocols: []string{"ocpp1.6"}, HTTPClient: hs.Client()})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			answered := func(id string) {
				t.Helper()
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_, b, err := ws.Read(rctx)
				if err != nil {
					t.Fatalf("call %s: %v", id, err)
				}
				m, perr := ocppj.Decode(b)
				if perr != nil || m.Type != ocppj.TypeCallResult || m.ID != id {
					t.Fatalf("call %s answered %s", id, b)
				}
			}
			heartbeat := func(id string) {
				t.Helper()
				if err := ws.Write(ctx, websocket.MessageText, ocppj.AppendCall(nil, id, "Heartbeat", []byte(`{}`))); err != nil {
					t.Fatal(err)
				}
				answered(id)
			}
			heartbeat("1")
			time.Sleep(3 * hot) // the station pauses past the hot wait
			heartbeat("2")
			// Straight after an answer, within the hot wait: most of a frame, the rest after the
			// hot wait has ended.
			frame := ocppj.AppendCall(nil, "3", "Heartbeat", []byte(`{}`+strings.Repeat(" ", 12<<10)))
			w, err := ws.Writer(ctx, websocket.MessageText)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(frame[:len(frame)-1]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * hot)
			if _, err := w.Write(frame[len(frame)-1:]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			answered("3")
		})
	}
}
