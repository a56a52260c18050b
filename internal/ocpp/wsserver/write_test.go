package wsserver_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// A station that stops reading is dropped once a frame to it has waited the write timeout:
// EVCS's call to it fails then rather than at the call timeout, and the station is
// unregistered, so that it shows offline and may connect again.
func TestStationThatStopsReadingIsDropped(t *testing.T) {
	defer wsserver.SetWriteTimeout(200 * time.Millisecond)()
	ctx := context.Background()
	srv, base := limitedServer(t, wsserver.RateLimit{Rate: -1}, 1<<20, "DEAF")
	rawDial(t, base+"DEAF") // never read: the socket buffers of both ends fill up
	var c *wsserver.Conn
	for deadline := time.Now().Add(5 * time.Second); c == nil; time.Sleep(10 * time.Millisecond) {
		c, _ = srv.Conn("DEAF")
		if time.Now().After(deadline) {
			t.Fatal("station never registered")
		}
	}
	// 32 MiB: more than loopback's socket buffers hold, so the write stalls part-way.
	big := strings.Repeat("x", 32<<20)
	called := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, "DataTransfer", map[string]any{"vendorId": "evcs", "data": big}, nil)
		called <- err
	}()
	select {
	case err := <-called:
		if err == nil || errs.Is(err, errs.Unavailable) && strings.Contains(err.Error(), "in time") {
			t.Fatalf("call to a station that reads nothing: %v, want a failed write", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("call to a station that reads nothing still writing after 30 s: no write timeout")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := srv.Conn("DEAF"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("station that stopped reading is still registered")
		}
	}
	if _, err := c.Call(ctx, "DataTransfer", map[string]any{"vendorId": "evcs"}, nil); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call after the drop: %v, want the connection closed", err)
	}
}
