package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// fakeCSMS is a tiny in-test CSMS: it records every frame per connection, validates every CALL
// the station sends against the version's schema, answers with canned schema-valid replies,
// and can call the station. Hooks let a test drop the connection mid-call or hold a reconnect.
type fakeCSMS struct {
	t   *testing.T
	ver ocppj.Version
	srv *httptest.Server

	// dropOn, when it returns true for a CALL, closes the connection without answering.
	dropOn func(m ocppj.Message) bool
	// gate, when set, holds every connection after the first until it is closed.
	gate chan struct{}

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever calls grows
	calls    []received
	conns    int
	cur      *websocket.Conn
	pending  map[string]chan ocppj.Message
	nextTx   int
	schemaKO []string
	seq      int
	remotes  map[string]int // connections by the station's source address
}

type received struct {
	conn int
	msg  ocppj.Message
	raw  string
}

func newFakeCSMS(t *testing.T, ver ocppj.Version) *fakeCSMS {
	f := &fakeCSMS{t: t, ver: ver, changed: make(chan struct{}), pending: map[string]chan ocppj.Message{}, nextTx: 100}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, e := range f.schemaKO {
			t.Errorf("station sent a schema-invalid message: %s", e)
		}
	})
	return f
}

func (f *fakeCSMS) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ocpp" }

func (f *fakeCSMS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.conns++
	n := f.conns
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if f.remotes == nil {
			f.remotes = map[string]int{}
		}
		f.remotes[host]++
	}
	gate := f.gate
	f.mu.Unlock()
	if n > 1 && gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{f.ver.Subprotocol()}})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	if ws.Subprotocol() != f.ver.Subprotocol() {
		f.t.Errorf("station offered %q, want %q", r.Header.Get("Sec-WebSocket-Protocol"), f.ver.Subprotocol())
		return
	}
	f.mu.Lock()
	f.cur = ws
	f.mu.Unlock()
	ctx := r.Context()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		m, perr := ocppj.DecodeVersion(f.ver, data)
		if perr != nil {
			f.t.Errorf("station sent an undecodable frame %s: %v", data, perr)
			continue
		}
		switch m.Type {
		case ocppj.TypeCallResult, ocppj.TypeCallError:
			f.mu.Lock()
			ch := f.pending[m.ID]
			delete(f.pending, m.ID)
			f.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		if verr := validateRequest(f.ver, m.Action, m.Payload); verr != nil {
			f.mu.Lock()
			f.schemaKO = append(f.schemaKO, fmt.Sprintf("%s %s: %v", m.Action, m.Payload, verr))
			f.mu.Unlock()
		}
		drop := f.dropOn != nil && f.dropOn(m)
		f.mu.Lock()
		f.calls = append(f.calls, received{conn: n, msg: m, raw: string(data)})
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
		if drop {
			ws.CloseNow()
			return
		}
		resp := f.answer(m)
		if err := ws.Write(ctx, websocket.MessageText, ocppj.AppendResult(nil, m.ID, resp)); err != nil {
			return
		}
	}
}

func (f *fakeCSMS) answer(m ocppj.Message) []byte {
	nowS := time.Now().UTC().Format(time.RFC3339)
	var v any = struct{}{}
	switch m.Action {
	case "BootNotification":
		v = map[string]any{"status": "Accepted", "currentTime": nowS, "interval": 300}
	case "Heartbeat":
		v = map[string]any{"currentTime": nowS}
	case "Authorize":
		if f.ver == ocppj.V16 {
			v = map[string]any{"idTagInfo": map[string]string{"status": "Accepted"}}
		} else {
			v = map[string]any{"idTokenInfo": map[string]string{"status": "Accepted"}}
		}
	case "StartTransaction":
		f.mu.Lock()
		f.nextTx++
		id := f.nextTx
		f.mu.Unlock()
		v = map[string]any{"transactionId": id, "idTagInfo": map[string]string{"status": "Accepted"}}
	case "TransactionEvent":
		if strings.Contains(string(m.Payload), `"idToken"`) {
			v = map[string]any{"idTokenInfo": map[string]string{"status": "Accepted"}}
		}
	case "DataTransfer":
		v = map[string]any{"status": "Accepted"}
	}
	b, _ := json.Marshal(v)
	return b
}

// waitCall waits until a CALL from the station (at index ≥ from) satisfies pred.
func (f *fakeCSMS) waitCall(from int, pred func(received) bool) (int, received) {
	f.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		for i := from; i < len(f.calls); i++ {
			if pred(f.calls[i]) {
				r := f.calls[i]
				f.mu.Unlock()
				return i, r
			}
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			f.t.Fatalf("timed out waiting for a CALL from the station")
		}
	}
}

func action(a string) func(received) bool {
	return func(r received) bool { return r.msg.Action == a }
}

func (f *fakeCSMS) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.calls...)
}

// call sends a CALL to the station and returns its reply frame.
func (f *fakeCSMS) call(actionName string, payload string) ocppj.Message {
	f.t.Helper()
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("csms-%d", f.seq)
	ch := make(chan ocppj.Message, 1)
	f.pending[id] = ch
	ws := f.cur
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, ocppj.AppendCall(nil, id, actionName, []byte(payload))); err != nil {
		f.t.Fatalf("call %s: %v", actionName, err)
	}
	select {
	case m := <-ch:
		return m
	case <-ctx.Done():
		f.t.Fatalf("no reply to %s", actionName)
	}
	return ocppj.Message{}
}
