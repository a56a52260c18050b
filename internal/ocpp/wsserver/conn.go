package wsserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/obs"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Conn is one station's connection.
type Conn struct {
	StationID string
	s         *Server
	ws        *websocket.Conn
	nc        *leanConn // the socket under ws: its read deadline is the idle timeout
	proto     Protocol
	remote    string
	arrival   uint64    // order of the handshake request, to settle which connection is newest
	since     time.Time // when it was registered (under s.mu)
	ctx       context.Context
	cancel    context.CancelFunc
	writeMu   sync.Mutex // one frame at a time under the socket's write deadline (write)
	seq       atomic.Uint64
	log       *slog.Logger // log with c.ctx (or a message's context): lines then name the station
	limit     *bucket      // read loop only
	throttled bool         // the last CALL was refused for the rate limit (log once per episode)

	// The Caller for EVCS's own calls to the station, made on the first one: most stations are
	// never called, and an idle connection should cost as little as possible.
	callerMu     sync.Mutex
	caller       *ocppj.Caller
	callerClosed bool

	// The last replies sent, by message id: a CALL repeated on this connection gets the same
	// answer without being handled twice.
	recentMu sync.Mutex
	recent   [4]struct {
		id    string
		frame []byte
	}
	recentN int
}

func newConn(s *Server, ws *websocket.Conn, nc *leanConn, id string, p Protocol, remote string) *Conn {
	c := &Conn{StationID: id, s: s, ws: ws, nc: nc, proto: p, remote: remote, log: s.log, limit: newBucket(s.rateLimit(), time.Now)}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.ctx, c.cancel = context.WithCancel(obs.WithLogAttrs(context.Background(), "station", id))
	return c
}

// callerFor returns the connection's Caller, making it on first use (closed if the connection
// already is).
func (c *Conn) callerFor() *ocppj.Caller {
	c.callerMu.Lock()
	defer c.callerMu.Unlock()
	if c.caller == nil {
		c.caller = ocppj.NewCaller(c.write, c.s.opts.CallTimeout, c.nextID)
		if c.callerClosed {
			c.caller.Close(ocppj.ErrClosed)
		}
	}
	return c.caller
}

// deliver hands a reply to the outstanding call, if there is one.
func (c *Conn) deliver(m ocppj.Message) {
	c.callerMu.Lock()
	caller := c.caller
	c.callerMu.Unlock()
	if caller != nil { // no Caller yet: no call was made, so the reply is stray
		caller.Deliver(m)
	}
}

// Version is the connection's OCPP version.
func (c *Conn) Version() ocppj.Version { return c.proto.Version() }

// Logger is the server's logger; log with the connection's Context (or the context a handler
// got), whose attributes name the station and the message (see obs.WithLogAttrs).
func (c *Conn) Logger() *slog.Logger { return c.log }

// Context ends when the connection closes.
func (c *Conn) Context() context.Context { return c.ctx }

func (c *Conn) nextID() string { return "evcs-" + strconv.FormatUint(c.seq.Add(1), 10) }

// writeTimeout bounds one frame's write: a station that stops reading does not hold a
// goroutine (and, for a reply, its read loop) for longer. A variable for tests.
var writeTimeout = 10 * time.Second

func (c *Conn) write(frame []byte) error {
	if c.nc == nil {
		ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
		defer cancel()
		return c.ws.Write(ctx, websocket.MessageText, frame)
	}
	// The timeout is the socket's write deadline, not a context: a context with a deadline
	// costs a timer, and the WebSocket library registers a callback on it for every frame
	// (2 % of the server's CPU under the load tool). writeMu keeps one writer's deadline from
	// being cleared by another's; the deadline is cleared after each frame so that the close
	// handshake's frame, written later with a context of its own, is not refused.
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ctx.Err(); err != nil {
		return err
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := c.ws.Write(context.Background(), websocket.MessageText, frame)
	_ = c.nc.SetWriteDeadline(time.Time{})
	if err != nil && c.ctx.Err() == nil {
		// A frame cut off part-way leaves the stream unreadable: drop the connection, as
		// the library does when a write's context ends.
		_ = c.ws.CloseNow()
	}
	return err
}

// Close closes the connection.
func (c *Conn) Close() error { c.close(websocket.StatusNormalClosure, ""); return nil }

func (c *Conn) close(code websocket.StatusCode, reason string) {
	c.callerMu.Lock()
	c.callerClosed = true
	if c.caller != nil {
		c.caller.Close(ocppj.ErrClosed)
	}
	c.callerMu.Unlock()
	c.cancel()
	if c.nc != nil {
		c.nc.markClosing()
		_ = c.nc.SetReadDeadline(time.Now()) // ends an idle wait, which c.ctx does not reach
	}
	_ = c.ws.Close(code, reason)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// run starts the connection's read loop; done runs when it has ended.
func (c *Conn) run(done func()) {
	obs.OCPPConnected.WithLabelValues(c.Version().Subprotocol()).Inc()
	go c.idle(done, time.Now())
}

// idle is where a connection's goroutine waits for the station's next frame, silent since
// quiet. Its frame and idleWait's are all that is on the stack then: small enough for the
// minimum stack.
func (c *Conn) idle(done func(), quiet time.Time) {
	c.step(done, c.await(quiet))
}

// await waits until a frame can be read. The idle timeout is the socket's read deadline rather
// than a context per read: no timer and context are allocated per frame or kept per idle
// connection. close sets it to now after cancelling c.ctx, so checking c.ctx after setting it
// cannot miss a close.
func (c *Conn) await(quiet time.Time) error {
	if c.nc == nil {
		return nil
	}
	_ = c.nc.SetReadDeadline(quiet.Add(c.s.opts.IdleTimeout))
	if err := c.ctx.Err(); err != nil {
		return err
	}
	return c.nc.idleWait()
}

// step is the read loop's turns: wait for a frame, handle it, and hand the loop on to a fresh
// goroutine once the station falls quiet. Handling a CALL runs deep (decoding, use case, store)
// and grows the stack to tens of KiB; a goroutine that then waited for the next frame would keep
// that stack while the station is idle, until garbage collections shrink it again. A fresh
// goroutine waits with the few KiB the read path needs, so an idle connection costs one small
// goroutine and no buffer. A busy station's next frame, though, comes soon: for up to hotWait
// the same goroutine waits for it and handles it on the stack it has grown, since a fresh
// goroutine per frame grew its stack anew every time (newstack and copystack took 3.6 % of the
// server's CPU under the load tool). Frames are read and handled one after the other, in order.
func (c *Conn) step(done func(), waitErr error) {
	next := false
	var quiet time.Time // since when the station has been silent, once next
	defer func() {
		if r := recover(); r != nil { // a bug in a handler closes this connection, not the process
			next = false
			c.log.ErrorContext(c.ctx, "panic while handling a frame: connection closed", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
		if next {
			go c.idle(done, quiet)
			return
		}
		c.close(websocket.StatusNormalClosure, "")
		obs.OCPPConnected.WithLabelValues(c.Version().Subprotocol()).Dec()
		done()
	}()
	if waitErr != nil {
		if c.ctx.Err() == nil {
			c.readEnded(waitErr)
		}
		return
	}
	for c.frame() {
		quiet = time.Now()
		if !c.awaitHot(quiet) {
			next = true // quiet, or ending: a fresh goroutine waits (and sees an end)
			return
		}
	}
}

// hotWait is how long a connection's goroutine waits for the next frame on the stack that
// handling the last one grew (step) before a fresh goroutine takes over the wait. A variable for
// tests.
var hotWait = 500 * time.Millisecond

// awaitHot waits up to hotWait (at most the idle timeout) from quiet for the next frame; false if
// none came, the wait failed, or the socket cannot be waited on without reading (TLS: "waiting"
// would return at once and the read would then hold the grown stack through the whole idle
// wait). The frame is then read under the idle timeout, as after await: its bytes may still be
// arriving.
func (c *Conn) awaitHot(quiet time.Time) bool {
	if c.nc == nil || c.nc.wait == nil {
		return false
	}
	_ = c.nc.SetReadDeadline(quiet.Add(min(hotWait, c.s.opts.IdleTimeout)))
	if c.ctx.Err() != nil || c.nc.idleWait() != nil {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.opts.IdleTimeout))
	return c.ctx.Err() == nil // close sets the deadline to now after cancelling c.ctx
}

// frame reads one frame and handles it; false when the read loop has ended (readEnded says why).
func (c *Conn) frame() bool {
	// The frame is read without a context: given one that can end, the WebSocket library
	// registers a callback on it for every frame header and payload read (context.AfterFunc),
	// which cost 3 % of the server's CPU under the load tool. Nothing is lost: close sets the
	// socket's read deadline to now, which ends a read under way as cancelling c.ctx did.
	typ, rd, err := c.ws.Reader(context.Background())
	if err != nil {
		c.readEnded(err)
		return false
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err = buf.ReadFrom(rd)
	if err != nil {
		bufPool.Put(buf)
		c.readEnded(err)
		return false
	}
	if typ == websocket.MessageText {
		c.handleFrame(c.Version(), buf.Bytes())
	}
	if buf.Cap() <= 64<<10 {
		bufPool.Put(buf)
	}
	return true
}

// readEnded logs why the read loop stopped. An oversized frame has already been answered by
// the WebSocket library with close code 1009 (message too big).
func (c *Conn) readEnded(err error) {
	code := websocket.CloseStatus(err)
	switch {
	case c.ctx.Err() != nil: // closed by EVCS (replaced, shutdown)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Silent for longer than the idle timeout: the socket is dropped without a close
		// handshake, which a station that stopped answering would not complete anyway.
		c.log.InfoContext(c.ctx, "connection read ended", "err", "idle timeout: nothing received for "+c.s.opts.IdleTimeout.String())
		_ = c.ws.CloseNow()
	case code == websocket.StatusNormalClosure || code == websocket.StatusGoingAway:
		c.log.DebugContext(c.ctx, "station closed the connection", "code", int(code))
	case errors.Is(err, websocket.ErrMessageTooBig) || code == websocket.StatusMessageTooBig:
		c.log.WarnContext(c.ctx, "frame too large: connection closed", "limit_bytes", c.s.opts.MaxMessage)
	default:
		c.log.InfoContext(c.ctx, "connection read ended", "err", err.Error())
	}
}

func (c *Conn) handleFrame(v ocppj.Version, frame []byte) {
	m, perr := ocppj.DecodeVersion(v, frame)
	limited := m.Type != ocppj.TypeCallResult && m.Type != ocppj.TypeCallError && m.Type != ocppj.TypeCallResultError
	if limited && !c.limit.allow() {
		c.refuse(v, m, perr)
		return
	}
	if perr != nil {
		obs.OCPPFrameErrors.WithLabelValues(v.Subprotocol(), perr.Kind.Code(v)).Inc()
		if id, ok := ocppj.ErrorReply(v, m, perr); ok {
			c.log.InfoContext(c.ctx, "bad frame", "message_id", id, "code", perr.Kind.Code(v), "err", perr.Msg)
			_ = c.write(ocppj.AppendError(nil, id, perr.Kind.Code(v), perr.Msg, nil))
		}
		return
	}
	c.throttled = false
	switch m.Type {
	case ocppj.TypeCall:
		if f := c.replay(m.ID); f != nil {
			_ = c.write(f)
			return
		}
		ctx := obs.WithLogAttrs(c.ctx, "message_id", m.ID)
		start := time.Now()
		payload, herr := c.proto.Handle(ctx, c, m.Action, m.Payload)
		var out []byte
		if herr != nil {
			out = ocppj.AppendError(nil, m.ID, herr.Kind.Code(v), herr.Msg, nil)
			c.log.InfoContext(ctx, "call refused", "action", m.Action, "code", herr.Kind.Code(v), "err", herr.Msg)
		} else {
			out = ocppj.AppendResult(nil, m.ID, payload)
			c.log.DebugContext(ctx, "call answered", "action", m.Action, "took", time.Since(start))
		}
		c.remember(m.ID, out)
		_ = c.write(out)
	case ocppj.TypeCallResult, ocppj.TypeCallError, ocppj.TypeCallResultError:
		m.Payload = append(json.RawMessage(nil), m.Payload...) // the frame buffer is reused
		m.ErrorDetails = append(json.RawMessage(nil), m.ErrorDetails...)
		c.deliver(m)
	case ocppj.TypeSend:
		_, _ = c.proto.Handle(obs.WithLogAttrs(c.ctx, "message_id", m.ID), c, m.Action, m.Payload) // SEND is never answered
	}
}

// refuse answers a CALL over the rate limit with GenericError (see RateLimit) and drops
// anything else. It logs once per episode of throttling, not per frame: a flood must not
// become a flood of log lines.
func (c *Conn) refuse(v ocppj.Version, m ocppj.Message, perr *ocppj.Error) {
	obs.OCPPFrameErrors.WithLabelValues(v.Subprotocol(), "RateLimited").Inc()
	if !c.throttled {
		c.throttled = true
		c.log.WarnContext(c.ctx, "station over its message rate limit: CALLs refused", "message_id", m.ID)
	}
	if perr != nil || m.Type != ocppj.TypeCall {
		return
	}
	details := fmt.Appendf(nil, `{"reason":"RateLimited","retryAfterSeconds":%d}`, c.limit.retryAfter())
	_ = c.write(ocppj.AppendError(nil, m.ID, ocppj.GenericError.Code(v), "rate limit exceeded: retry later", details))
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
	start := time.Now()
	raw, err := c.callerFor().Call(ctx, action, payload)
	obs.OCPPCallDuration.WithLabelValues(action).Observe(time.Since(start).Seconds())
	if err != nil {
		var ce *ocppj.CallError
		result := "error"
		defer func() { obs.OCPPCalls.WithLabelValues(action, result).Inc() }()
		switch {
		case errors.As(err, &ce):
			result = "call_error"
			return nil, errs.E(errs.Conflict, "station answered %s: %s", ce.Code, ce.Description)
		case errors.Is(err, ocppj.ErrTimeout):
			result = "timeout"
			c.log.WarnContext(c.ctx, "station did not answer in time", "action", action)
			return nil, errs.E(errs.Unavailable, "station did not answer %s in time", action)
		case errors.Is(err, ocppj.ErrClosed):
			result = "closed"
			return nil, errs.E(errs.Unavailable, "station disconnected")
		}
		return nil, errs.Wrap(action, err)
	}
	if verr := c.proto.ValidateResponse(action, raw); verr != nil {
		obs.OCPPCalls.WithLabelValues(action, "invalid").Inc()
		return raw, errs.E(errs.Invalid, "station's %s answer breaks the schema: %s", action, verr.Msg)
	}
	obs.OCPPCalls.WithLabelValues(action, "ok").Inc()
	if res != nil {
		if err := json.Unmarshal(raw, res); err != nil {
			return raw, errs.E(errs.Invalid, "station's %s answer: %v", action, err)
		}
	}
	return raw, nil
}
