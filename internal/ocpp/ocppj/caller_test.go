package ocppj

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// peer captures the frames a Caller sends.
type peer struct {
	frames chan Message
	fail   atomic.Bool
}

func newPeer() *peer { return &peer{frames: make(chan Message, 16)} }

func (p *peer) send(frame []byte) error {
	if p.fail.Load() {
		return errors.New("socket closed")
	}
	m, err := Decode(frame)
	if err != nil {
		return err
	}
	p.frames <- m
	return nil
}

func seqIDs() func() string {
	var n atomic.Int64
	return func() string { return "m" + strconv.FormatInt(n.Add(1), 10) }
}

type result struct {
	payload json.RawMessage
	err     error
}

func goCall(ctx context.Context, c *Caller, action string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		p, err := c.Call(ctx, action, []byte(`{"a":"`+action+`"}`))
		ch <- result{p, err}
	}()
	return ch
}

// waitQueued blocks until n calls wait behind the outstanding one. It yields instead of sleeping.
func waitQueued(t *testing.T, c *Caller, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, w := c.Pending(); w == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %d queued calls", n)
		}
		runtime.Gosched()
	}
}

func TestCallerResult(t *testing.T) {
	p := newPeer()
	c := NewCaller(p.send, time.Minute, seqIDs())
	res := goCall(context.Background(), c, "Reset")
	m := <-p.frames
	if m.Type != TypeCall || m.ID != "m1" || m.Action != "Reset" || string(m.Payload) != `{"a":"Reset"}` {
		t.Fatalf("sent %+v", m)
	}
	if c.Deliver(Message{Type: TypeCallResult, ID: "other", Payload: json.RawMessage(`{}`)}) {
		t.Error("delivered a reply with a stray id")
	}
	if !c.Deliver(Message{Type: TypeCallResult, ID: "m1", Payload: json.RawMessage(`{"status":"Accepted"}`)}) {
		t.Fatal("reply not delivered")
	}
	r := <-res
	if r.err != nil || string(r.payload) != `{"status":"Accepted"}` {
		t.Fatalf("Call = %s, %v", r.payload, r.err)
	}
	if c.Deliver(Message{Type: TypeCallResult, ID: "m1", Payload: json.RawMessage(`{}`)}) {
		t.Error("duplicate reply delivered")
	}
	if inflight, _ := c.Pending(); inflight {
		t.Error("slot still held")
	}
}

func TestCallerCallError(t *testing.T) {
	p := newPeer()
	c := NewCaller(p.send, time.Minute, seqIDs())
	res := goCall(context.Background(), c, "Reset")
	m := <-p.frames
	c.Deliver(Message{Type: TypeCallError, ID: m.ID, ErrorCode: "NotSupported", ErrorDescription: "nope", ErrorDetails: json.RawMessage(`{"x":1}`)})
	r := <-res
	var ce *CallError
	if !errors.As(r.err, &ce) || ce.Code != "NotSupported" || ce.Description != "nope" || string(ce.Details) != `{"x":1}` || ce.Kind() != NotSupported {
		t.Fatalf("err = %#v", r.err)
	}
}

func TestCallerFIFO(t *testing.T) {
	p := newPeer()
	c := NewCaller(p.send, time.Minute, seqIDs())
	ctx := context.Background()
	first := goCall(ctx, c, "A")
	m1 := <-p.frames
	second := goCall(ctx, c, "B")
	waitQueued(t, c, 1)
	third := goCall(ctx, c, "C")
	waitQueued(t, c, 2)
	select {
	case m := <-p.frames:
		t.Fatalf("second CALL %s sent while %s outstanding", m.Action, m1.Action)
	default:
	}
	c.Deliver(Message{Type: TypeCallResult, ID: m1.ID, Payload: json.RawMessage(`{"r":1}`)})
	m2 := <-p.frames
	if m2.Action != "B" {
		t.Fatalf("second sent %s, want B", m2.Action)
	}
	c.Deliver(Message{Type: TypeCallResult, ID: m2.ID, Payload: json.RawMessage(`{"r":2}`)})
	m3 := <-p.frames
	if m3.Action != "C" {
		t.Fatalf("third sent %s, want C", m3.Action)
	}
	c.Deliver(Message{Type: TypeCallResult, ID: m3.ID, Payload: json.RawMessage(`{"r":3}`)})
	for i, ch := range []<-chan result{first, second, third} {
		r := <-ch
		if want := `{"r":` + strconv.Itoa(i+1) + `}`; r.err != nil || string(r.payload) != want {
			t.Errorf("call %d = %s, %v; want %s", i, r.payload, r.err, want)
		}
	}
}

func TestCallerTimeoutFreesSlot(t *testing.T) {
	p := newPeer()
	c := NewCaller(p.send, time.Millisecond, seqIDs())
	ctx := context.Background()
	res := goCall(ctx, c, "A")
	m1 := <-p.frames
	r := <-res
	if !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", r.err)
	}
	var te interface{ Timeout() bool }
	if !errors.As(r.err, &te) || !te.Timeout() {
		t.Error("timeout error does not report Timeout()")
	}
	if c.Deliver(Message{Type: TypeCallResult, ID: m1.ID, Payload: json.RawMessage(`{}`)}) {
		t.Error("late reply delivered")
	}
	res2 := goCall(ctx, c, "B")
	m2 := <-p.frames
	if m2.Action != "B" || m2.ID == m1.ID {
		t.Fatalf("next call %+v", m2)
	}
	c.Deliver(Message{Type: TypeCallResult, ID: m2.ID, Payload: json.RawMessage(`{}`)})
	// The reply may lose the race against the 1ms timer; either outcome frees the slot.
	if r := <-res2; r.err != nil && !errors.Is(r.err, ErrTimeout) {
		t.Fatal(r.err)
	}
	if inflight, _ := c.Pending(); inflight {
		t.Error("slot still held")
	}
}

func TestCallerContextCancel(t *testing.T) {
	p := newPeer()
	c := NewCaller(p.send, time.Minute, seqIDs())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := goCall(context.Background(), c, "A")
	m1 := <-p.frames
	waiterCtx, cancelWaiter := context.WithCancel(context.Background())
	waiter := goCall(waiterCtx, c, "Queued")
	waitQueued(t, c, 1)
	cancelWaiter()
	if r := <-waiter; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("queued call err = %v", r.err)
	}
	if _, w := c.Pending(); w != 0 {
		t.Fatalf("cancelled waiter still queued")
	}
	c.Deliver(Message{Type: TypeCallResult, ID: m1.ID, Payload: json.RawMessage(`{}`)})
	<-first

	// Cancelling an outstanding call frees the slot.
	res := goCall(ctx, c, "B")
	m2 := <-p.frames
	cancel()
	if r := <-res; !errors.Is(r.err, context.Canceled) && r.err != nil {
		t.Fatalf("err = %v", r.err)
	}
	if c.Deliver(Message{Type: TypeCallResult, ID: m2.ID, Payload: json.RawMessage(`{}`)}) {
		t.Error("reply to a cancelled call delivered")
	}
	res3 := goCall(context.Background(), c, "C")
	m3 := <-p.frames
	c.Deliver(Message{Type: TypeCallResult, ID: m3.ID, Payload: json.RawMessage(`{}`)})
	if r := <-res3; r.err != nil {
		t.Fatal(r.err)
	}
}

func TestCallerClose(t *testing.T) {
	p := newPeer()
	c := NewCaller(p.send, time.Minute, seqIDs())
	ctx := context.Background()
	first := goCall(ctx, c, "A")
	<-p.frames
	second := goCall(ctx, c, "B")
	waitQueued(t, c, 1)
	gone := errors.New("connection lost")
	c.Close(gone)
	c.Close(errors.New("second close is ignored"))
	for _, ch := range []<-chan result{first, second} {
		if r := <-ch; !errors.Is(r.err, gone) {
			t.Errorf("err = %v, want %v", r.err, gone)
		}
	}
	if _, err := c.Call(ctx, "C", nil); !errors.Is(err, gone) {
		t.Errorf("call after close: %v", err)
	}
	c2 := NewCaller(p.send, 0, nil)
	c2.Close(nil)
	if _, err := c2.Call(ctx, "C", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close(nil): %v", err)
	}
}

func TestCallerSendError(t *testing.T) {
	p := newPeer()
	p.fail.Store(true)
	c := NewCaller(p.send, time.Minute, nil)
	if _, err := c.Call(context.Background(), "A", nil); err == nil {
		t.Fatal("send error not returned")
	}
	if inflight, _ := c.Pending(); inflight {
		t.Error("failed send kept the slot")
	}
}

// TestCallerConcurrent runs many callers against an echoing peer under -race.
func TestCallerConcurrent(t *testing.T) {
	var c *Caller
	sent := make(chan Message, 1)
	c = NewCaller(func(frame []byte) error {
		m, err := Decode(frame)
		if err != nil {
			return err
		}
		sent <- m
		return nil
	}, time.Minute, nil)
	stop := make(chan struct{})
	go func() { // the read loop
		for {
			select {
			case m := <-sent:
				c.Deliver(Message{Type: TypeCallResult, ID: m.ID, Payload: m.Payload})
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)
	const n = 50
	results := make(chan error, n)
	for i := range n {
		go func() {
			want := `{"i":` + strconv.Itoa(i) + `}`
			got, err := c.Call(context.Background(), "Echo", []byte(want))
			if err == nil && string(got) != want {
				err = errors.New("got " + string(got) + " want " + want)
			}
			results <- err
		}()
	}
	for range n {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
}
