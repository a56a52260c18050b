package wsserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Conn is one station's connection.
type Conn struct {
	StationID string
	s         *Server
	ws        *websocket.Conn
	proto     Protocol
	caller    *ocppj.Caller
	remote    string
	arrival   uint64 // order of the handshake request, to settle which connection is newest
	ctx       context.Context
	cancel    context.CancelFunc
	seq       atomic.Uint64

	// The last replies sent, by message id: a CALL repeated on this connection gets the same
	// answer without being handled twice.
	recentMu sync.Mutex
	recent   [4]struct {
		id    string
		frame []byte
	}
	recentN int
}

func newConn(s *Server, ws *websocket.Conn, id string, p Protocol, remote string) *Conn {
	c := &Conn{StationID: id, s: s, ws: ws, proto: p, remote: remote}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.caller = ocppj.NewCaller(c.write, s.opts.CallTimeout, c.nextID)
	return c
}

// Version is the connection's OCPP version.
func (c *Conn) Version() ocppj.Version { return c.proto.Version() }

// Context ends when the connection closes.
func (c *Conn) Context() context.Context { return c.ctx }

func (c *Conn) nextID() string { return "evcs-" + strconv.FormatUint(c.seq.Add(1), 10) }

func (c *Conn) write(frame []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// Close closes the connection.
func (c *Conn) Close() error { c.close(websocket.StatusNormalClosure, ""); return nil }

func (c *Conn) close(code websocket.StatusCode, reason string) {
	c.caller.Close(ocppj.ErrClosed)
	c.cancel()
	_ = c.ws.Close(code, reason)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (c *Conn) serve() {
	defer c.close(websocket.StatusNormalClosure, "")
	v := c.Version()
	for {
		rctx, cancel := context.WithTimeout(c.ctx, c.s.opts.IdleTimeout)
		typ, rd, err := c.ws.Reader(rctx)
		if err != nil {
			cancel()
			return
		}
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(rd)
		cancel()
		if err != nil {
			bufPool.Put(buf)
			return
		}
		if typ != websocket.MessageText {
			bufPool.Put(buf)
			continue
		}
		c.handleFrame(v, buf.Bytes())
		if buf.Cap() <= 64<<10 {
			bufPool.Put(buf)
		}
	}
}

func (c *Conn) handleFrame(v ocppj.Version, frame []byte) {
	m, perr := ocppj.DecodeVersion(v, frame)
	if perr != nil {
		if id, ok := ocppj.ErrorReply(v, m, perr); ok {
			_ = c.write(ocppj.AppendError(nil, id, perr.Kind.Code(v), perr.Msg, nil))
		}
		return
	}
	switch m.Type {
	case ocppj.TypeCall:
		if f := c.replay(m.ID); f != nil {
			_ = c.write(f)
			return
		}
		payload, herr := c.proto.Handle(c.ctx, c, m.Action, m.Payload)
		var out []byte
		if herr != nil {
			out = ocppj.AppendError(nil, m.ID, herr.Kind.Code(v), herr.Msg, nil)
		} else {
			out = ocppj.AppendResult(nil, m.ID, payload)
		}
		c.remember(m.ID, out)
		_ = c.write(out)
	case ocppj.TypeCallResult, ocppj.TypeCallError, ocppj.TypeCallResultError:
		m.Payload = append(json.RawMessage(nil), m.Payload...) // the frame buffer is reused
		m.ErrorDetails = append(json.RawMessage(nil), m.ErrorDetails...)
		c.caller.Deliver(m)
	case ocppj.TypeSend:
		_, _ = c.proto.Handle(c.ctx, c, m.Action, m.Payload) // SEND is never answered
	}
}

func (c *Conn) replay(id string) []byte {
	c.recentMu.Lock()
	defer c.recentMu.Unlock()
	for _, r := range c.recent {
		if r.id == id && r.frame != nil {
			return r.frame
		}
	}
	return nil
}

func (c *Conn) remember(id string, frame []byte) {
	c.recentMu.Lock()
	c.recent[c.recentN%len(c.recent)] = struct {
		id    string
		frame []byte
	}{id, frame}
	c.recentN++
	c.recentMu.Unlock()
}

// Call sends a CALL to the station and decodes its answer into res (a pointer to the typed
// response), after checking it against the version's schema. It waits at most the call
// timeout and never blocks the read loop.
func (c *Conn) Call(ctx context.Context, action string, req any, res any) (json.RawMessage, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, errs.Wrap("encode "+action, err)
	}
	raw, err := c.caller.Call(ctx, action, payload)
	if err != nil {
		var ce *ocppj.CallError
		switch {
		case errors.As(err, &ce):
			return nil, errs.E(errs.Conflict, "station answered %s: %s", ce.Code, ce.Description)
		case errors.Is(err, ocppj.ErrTimeout):
			return nil, errs.E(errs.Unavailable, "station did not answer %s in time", action)
		case errors.Is(err, ocppj.ErrClosed):
			return nil, errs.E(errs.Unavailable, "station disconnected")
		}
		return nil, errs.Wrap(action, err)
	}
	if verr := c.proto.ValidateResponse(action, raw); verr != nil {
		return raw, errs.E(errs.Invalid, "station's %s answer breaks the schema: %s", action, verr.Msg)
	}
	if res != nil {
		if err := json.Unmarshal(raw, res); err != nil {
			return raw, errs.E(errs.Invalid, "station's %s answer: %v", action, err)
		}
	}
	return raw, nil
}
