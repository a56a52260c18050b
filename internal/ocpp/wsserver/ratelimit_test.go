package wsserver_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/ocpp/csms201"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlite"
)

// limitedServer runs a 2.0.1 server with a rate limit, a small frame limit and stations ids.
func limitedServer(t *testing.T, l wsserver.RateLimit, maxMessage int64, ids ...string) (*wsserver.Server, string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "evcs.db"))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(db, nil, nil)
	srv := wsserver.New(a, wsserver.Options{CallTimeout: 5 * time.Second, MaxMessage: maxMessage}, csms201.New(a))
	srv.SetRateLimit(l)
	a.Commander = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close(); a.Close(); db.Close() }) // srv first: it waits for its handlers
	now := time.Now().UTC()
	err = db.InTx(ctx, func(tx store.Tx) error {
		site := asset.Site{ID: "site_t", SiteFields: asset.SiteFields{Name: "T", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		if err := tx.Sites().Create(ctx, &site); err != nil {
			return err
		}
		for _, id := range ids {
			st := asset.Station{ID: id, StationFields: asset.StationFields{SiteID: "site_t", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
			if err := tx.Stations().Create(ctx, &st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/ocpp/"
}

func rawDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := dial(url, []string{"ocpp2.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

func readFrame(t *testing.T, ws *websocket.Conn) ocppj.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, perr := ocppj.Decode(data)
	if perr != nil {
		t.Fatalf("bad frame %s: %v", data, perr)
	}
	return m
}

func writeFrame(t *testing.T, ws *websocket.Conn, frame []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, frame); err != nil {
		t.Fatal(err)
	}
}

// TestRateLimitThrottlesOnlyTheFloodingStation: a station that sends more CALLs than its bucket
// holds gets GenericError ("RateLimited") for the excess, while its answers to EVCS's own calls
// still get through; another station, at the same time, is answered normally. The bucket does
// not refill (rate 0), so the counts are exact.
func TestRateLimitThrottlesOnlyTheFloodingStation(t *testing.T) {
	const burst, sent = 5, 20
	srv, base := limitedServer(t, wsserver.RateLimit{Rate: 0, Burst: burst}, 1<<20, "FLOOD", "CALM")
	flood, calm := rawDial(t, base+"FLOOD"), rawDial(t, base+"CALM")

	for i := range sent {
		writeFrame(t, flood, ocppj.AppendCall(nil, "f"+strconv.Itoa(i), "Heartbeat", []byte("{}")))
	}
	ok, limited := 0, 0
	for range sent {
		m := readFrame(t, flood)
		switch {
		case m.Type == ocppj.TypeCallResult:
			ok++
		case m.Type == ocppj.TypeCallError && m.ErrorCode == "GenericError" && strings.Contains(string(m.ErrorDetails), `"RateLimited"`):
			limited++
		default:
			t.Fatalf("unexpected answer %+v", m)
		}
	}
	if ok != burst || limited != sent-burst {
		t.Errorf("flooding station: %d answered, %d refused; want %d and %d", ok, limited, burst, sent-burst)
	}

	// The throttled station still answers a call from EVCS.
	c, found := srv.Conn("FLOOD")
	if !found {
		t.Fatal("FLOOD not connected")
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), "ClearCache", map[string]any{}, nil)
		done <- err
	}()
	call := readFrame(t, flood)
	if call.Type != ocppj.TypeCall || call.Action != "ClearCache" {
		t.Fatalf("expected EVCS's ClearCache call, got %+v", call)
	}
	writeFrame(t, flood, ocppj.AppendResult(nil, call.ID, []byte(`{"status":"Accepted"}`)))
	if err := <-done; err != nil {
		t.Errorf("call to a throttled station: %v", err)
	}

	// The other station is unaffected: all of its own burst is answered.
	for i := range burst {
		writeFrame(t, calm, ocppj.AppendCall(nil, "c"+strconv.Itoa(i), "Heartbeat", []byte("{}")))
		if m := readFrame(t, calm); m.Type != ocppj.TypeCallResult {
			t.Fatalf("calm station's Heartbeat %d: %+v", i, m)
		}
	}
}

// TestOversizedFrameClosesWith1009: a frame above Options.MaxMessage closes the connection with
// WebSocket status 1009 (message too big) and is not handled.
func TestOversizedFrameClosesWith1009(t *testing.T) {
	_, base := limitedServer(t, wsserver.RateLimit{Rate: -1}, 4096, "BIG")
	ws := rawDial(t, base+"BIG")
	pad, _ := json.Marshal(map[string]string{"vendorId": strings.Repeat("x", 8192)})
	writeFrame(t, ws, ocppj.AppendCall(nil, "1", "DataTransfer", pad))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
				t.Fatalf("close status %v (%v), want 1009", got, err)
			}
			return
		}
	}
}

func TestRateLimitOffAllowsAll(t *testing.T) {
	_, base := limitedServer(t, wsserver.RateLimit{Rate: -1}, 1<<20, "FREE")
	ws := rawDial(t, base+"FREE")
	for i := range 50 {
		writeFrame(t, ws, ocppj.AppendCall(nil, strconv.Itoa(i), "Heartbeat", []byte("{}")))
	}
	for range 50 {
		if m := readFrame(t, ws); m.Type != ocppj.TypeCallResult {
			t.Fatalf("%+v", m)
		}
	}
}
