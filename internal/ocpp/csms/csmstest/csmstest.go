// Package csmstest runs the OCPP server over a real WebSocket and a real (SQLite) store for
// the route-table tests of csms16, csms201 and csms21: each action's test sends frames as a
// station would and checks the answer.
package csmstest

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

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlite"
)

// Tags known to the harness: TagOK is accepted (its account has credit), TagBlocked is blocked.
const (
	TagOK      = "TAG-OK"
	TagBlocked = "TAG-BLOCKED"
	Station    = "CP-T"
)

// Harness is a running OCPP server with one registered station and two tokens.
type Harness struct {
	App *app.App
	URL string
	t   testing.TB
}

// Start runs the server for protocol p.
func Start(t testing.TB, mk func(*app.App) wsserver.Protocol) *Harness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "evcs.db"))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(db, nil, nil)
	srv := wsserver.New(a, wsserver.Options{CallTimeout: 5 * time.Second}, mk(a))
	a.Commander = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close(); a.Close(); db.Close() }) // srv first: it waits for its handlers
	now := time.Now().UTC()
	err = db.InTx(ctx, func(tx store.Tx) error {
		site := asset.Site{ID: "site_t", SiteFields: asset.SiteFields{Name: "T", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		st := asset.Station{ID: Station, StationFields: asset.StationFields{SiteID: "site_t", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		u := account.User{ID: "usr_t", UserFields: account.UserFields{Name: "D", Email: "d@example.com", Role: account.RolePurchaser}, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		acc := account.Account{ID: "acc_t", UserID: "usr_t", Currency: "EUR", CreditLimit: 10000, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		ok := account.IdToken{ID: "tok_ok", IdTokenFields: account.IdTokenFields{UID: TagOK, Type: "ISO14443", AccountID: "acc_t", Status: account.Active}, CreatedAt: now, UpdatedAt: now}
		bl := account.IdToken{ID: "tok_bl", IdTokenFields: account.IdTokenFields{UID: TagBlocked, Type: "ISO14443", AccountID: "acc_t", Status: account.Blocked}, CreatedAt: now, UpdatedAt: now}
		for _, f := range []func() error{
			func() error { return tx.Sites().Create(ctx, &site) }, func() error { return tx.Stations().Create(ctx, &st) },
			func() error { return tx.Users().Create(ctx, &u) }, func() error { return tx.Accounts().Create(ctx, &acc) },
			func() error { return tx.IdTokens().Create(ctx, &ok) }, func() error { return tx.IdTokens().Create(ctx, &bl) },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Harness{App: a, URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ocpp/" + Station, t: t}
}

// Client is a raw station connection.
type Client struct {
	ws  *websocket.Conn
	t   testing.TB
	seq int
}

// Dial connects as the station with subprotocol v.
func (h *Harness) Dial(v ocppj.Version) *Client {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, h.URL, &websocket.DialOptions{Subprotocols: []string{v.Subprotocol()}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { ws.CloseNow() })
	return &Client{ws: ws, t: h.t}
}

// Call sends a CALL and returns the CALLRESULT payload, or the CALLERROR code.
func (c *Client) Call(action string, payload any) (result map[string]any, errorCode string) {
	c.t.Helper()
	c.seq++
	id := "m" + strconv.Itoa(c.seq)
	raw, err := json.Marshal(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.Raw(ocppj.AppendCall(nil, id, action, raw), id)
}

// Raw sends a frame as is and waits for the answer with message id.
func (c *Client) Raw(frame []byte, id string) (map[string]any, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, frame); err != nil {
		c.t.Fatal(err)
	}
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			c.t.Fatalf("no answer to %s: %v", frame, err)
		}
		m, perr := ocppj.Decode(data)
		if perr != nil {
			c.t.Fatalf("bad frame from server %s: %v", data, perr)
		}
		if m.ID != id {
			continue // a server-initiated call or another answer
		}
		if m.Type == ocppj.TypeCallError {
			return nil, m.ErrorCode
		}
		var out map[string]any
		if err := json.Unmarshal(m.Payload, &out); err != nil {
			c.t.Fatal(err)
		}
		return out, ""
	}
}

// WaitClosed reads until the server closes the connection and returns the close status.
func (c *Client) WaitClosed() websocket.StatusCode {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.ws.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// Now is a timestamp as stations send it.
func Now() string { return time.Now().UTC().Format(time.RFC3339) }
