package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// events streams live updates as Server-Sent Events, fed by App.Bus:
//
//	event: station   data: {"kind":"session.started","station_id":"CP-1"}   at once, per bus event
//	event: snapshot  data: <Snapshot JSON>                                   on connect, then at most
//	                                                                        once per Debounce after
//	                                                                        changes
//
// Station events carry only the kind and the station id (pages that show a station re-fetch
// their live section); the dashboard numbers come in the snapshot. A comment line every 15s
// keeps proxies from closing an idle stream; the stream ends when the login ends, the browser
// goes away, or the console closes (EventSource reconnects by itself).
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	sess := sessionFrom(r.Context())
	ch, stop := c.app.Bus.Subscribe(256)
	defer stop()
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	sendSnapshot := func() bool {
		snap, err := c.snapshot(r.Context())
		if err != nil {
			c.app.Log.Warn("console snapshot", "err", err)
			return true
		}
		return send("snapshot", snap)
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil || !sendSnapshot() {
		return
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	pending := false
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if !send("station", struct {
				Kind      string `json:"kind"`
				StationID string `json:"station_id,omitempty"`
			}{ev.Kind, ev.StationID}) {
				return
			}
			if !pending {
				pending = true
				debounce.Reset(c.opts.Debounce)
			}
		case <-debounce.C:
			pending = false
			if !sendSnapshot() {
				return
			}
		case <-keepalive.C:
			if !c.sessions.alive(sess.ID, c.app.Clock.Now()) {
				return
			}
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
