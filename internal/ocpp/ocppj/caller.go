package ocppj

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTimeout is returned (wrapped) by Caller.Call when no reply arrived in time.
var ErrTimeout = errors.New("ocppj: call timed out")

// ErrClosed is returned by Caller.Call after Close(nil).
var ErrClosed = errors.New("ocppj: caller closed")

// DefaultCallTimeout is used when NewCaller gets a timeout <= 0.
const DefaultCallTimeout = 30 * time.Second

// Caller sends CALLs over one connection and matches their replies. OCPP allows one
// outstanding CALL per direction, so Call waits, in FIFO order, until the previous call got its
// reply, timed out or was cancelled. Waiting callers block on a channel in their own goroutine;
// the Caller starts no goroutines. It is used on both sides: the server calling a station and
// the simulator calling the server.
type Caller struct {
	send    func(frame []byte) error
	timeout time.Duration
	newID   func() string

	mu       sync.Mutex
	inflight *pending   // the call holding the slot (sent or about to be sent)
	queue    []*pending // FIFO of calls waiting for the slot
	closed   chan struct{}
	closeErr error
}

type pending struct {
	id    string        // set under mu before the frame is sent
	ready chan struct{} // closed when this call gets the slot
	done  chan reply    // buffered(1): the reply delivered by Deliver
}

type reply struct {
	payload json.RawMessage
	err     error
}

var idCounter atomic.Uint64

// NewCaller returns a Caller that writes frames with send. send is called from the goroutine
// of Call, never with a lock held; it must be safe for the connection (one writer at a time is
// the connection's business). timeout bounds the wait for a reply once the CALL is sent
// (DefaultCallTimeout when <= 0); the wait for the slot is bounded by the caller's context.
// newID generates message ids (at most 36 characters); nil uses a process-wide counter.
func NewCaller(send func(frame []byte) error, timeout time.Duration, newID func() string) *Caller {
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	if newID == nil {
		newID = func() string { return strconv.FormatUint(idCounter.Add(1), 10) }
	}
	return &Caller{send: send, timeout: timeout, newID: newID, closed: make(chan struct{})}
}

// Call sends a CALL with payload (which must be a JSON object; nil means {}) and returns the
// CALLRESULT payload. A CALLERROR reply returns a *CallError. A timeout returns an error that
// wraps ErrTimeout and frees the slot; a late reply is then ignored.
func (c *Caller) Call(ctx context.Context, action string, payload []byte) (json.RawMessage, error) {
	p := &pending{ready: make(chan struct{}), done: make(chan reply, 1)}
	c.mu.Lock()
	if c.isClosed() {
		err := c.closeErr
		c.mu.Unlock()
		return nil, err
	}
	if c.inflight == nil {
		c.inflight = p
		close(p.ready)
	} else {
		c.queue = append(c.queue, p)
	}
	c.mu.Unlock()

	select {
	case <-p.ready:
	case <-ctx.Done():
		c.abandon(p)
		return nil, ctx.Err()
	case <-c.closed:
		c.abandon(p)
		return nil, c.closeErr
	}

	id := c.newID()
	c.mu.Lock()
	p.id = id // registered before sending: the reply may arrive before send returns
	c.mu.Unlock()
	frame := AppendCall(make([]byte, 0, 32+len(action)+len(payload)), id, action, payload)
	if err := c.send(frame); err != nil {
		c.release(p)
		return nil, err
	}

	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case r := <-p.done:
		return r.payload, r.err
	case <-timer.C:
		if r, ok := c.settle(p); ok {
			return r.payload, r.err
		}
		return nil, &timeoutError{action: action, id: id, after: c.timeout}
	case <-ctx.Done():
		if r, ok := c.settle(p); ok {
			return r.payload, r.err
		}
		return nil, ctx.Err()
	case <-c.closed:
		if r, ok := c.settle(p); ok {
			return r.payload, r.err
		}
		return nil, c.closeErr
	}
}

// Deliver hands a CALLRESULT or CALLERROR received by the read loop to the outstanding call. It
// never blocks. It returns false, and does nothing, when no outstanding call has m.ID (a late
// reply after a timeout, a duplicate, or a stray id) or m is not a reply.
func (c *Caller) Deliver(m Message) bool {
	var r reply
	switch m.Type {
	case TypeCallResult:
		r.payload = m.Payload
	case TypeCallError:
		r.err = &CallError{Code: m.ErrorCode, Description: m.ErrorDescription, Details: m.ErrorDetails}
	default:
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.inflight
	if p == nil || p.id == "" || p.id != m.ID {
		return false
	}
	p.done <- r // cannot block: buffered and only the holder of the slot is ever delivered to
	c.advanceLocked()
	return true
}

// Close fails every waiting and outstanding call with err (ErrClosed when nil) and makes later
// calls fail the same way. Closing twice keeps the first error.
func (c *Caller) Close(err error) {
	if err == nil {
		err = ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed() {
		return
	}
	c.closeErr = err
	close(c.closed)
}

// Pending reports whether a call holds the slot and how many wait behind it.
func (c *Caller) Pending() (inflight bool, waiting int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inflight != nil, len(c.queue)
}

func (c *Caller) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// abandon removes p from the queue, or frees the slot if p got it meanwhile.
func (c *Caller) abandon(p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, q := range c.queue {
		if q == p {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			return
		}
	}
	if c.inflight == p {
		c.advanceLocked()
	}
}

// release frees the slot held by p (if it still holds it).
func (c *Caller) release(p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight == p {
		c.advanceLocked()
	}
}

// settle is called when a sent call gives up; a reply that raced in wins.
func (c *Caller) settle(p *pending) (reply, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case r := <-p.done:
		return r, true
	default:
	}
	if c.inflight == p {
		c.advanceLocked()
	}
	return reply{}, false
}

func (c *Caller) advanceLocked() {
	if len(c.queue) == 0 {
		c.inflight = nil
		return
	}
	next := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	c.inflight = next
	close(next.ready)
}

type timeoutError struct {
	action, id string
	after      time.Duration
}

func (e *timeoutError) Error() string {
	return "ocppj: " + e.action + " (message " + strconv.Quote(e.id) + ") got no reply within " + e.after.String()
}

func (e *timeoutError) Unwrap() error { return ErrTimeout }
func (e *timeoutError) Timeout() bool { return true }
