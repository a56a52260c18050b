package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// errDropped ends a queued message that can no longer be sent (its transaction never got an
// id from the CSMS).
var errDropped = errors.New("sim: queued message dropped")

// ErrQueueFull is returned when the offline queue is at Config.MaxQueued and the message is
// one that may be dropped (meter values); starts and stops are always kept.
var ErrQueueFull = errors.New("sim: offline queue full")

// txMsg is a transaction-related CALL (1.6 StartTransaction / MeterValues / StopTransaction,
// 2.x TransactionEvent). Its message id is fixed when it is created, so a replay after a
// reconnect carries the same id and the CSMS can recognise a repeat.
type txMsg struct {
	id        string
	action    string
	payload   []byte                       // fixed payload, or
	build     func() ([]byte, bool)        // built when sent (1.6: the CSMS's transactionId); false = drop
	onReply   func(json.RawMessage, error) // runs before done is closed
	droppable bool

	done chan struct{}
	resp json.RawMessage
	err  error
}

// txQueue is the station's ordered outbox of transaction messages. A message leaves it only
// when the CSMS answered (CALLRESULT or CALLERROR); one lost with the connection or timed out
// stays at the head and is sent again.
type txQueue struct {
	mu      sync.Mutex
	items   []*txMsg
	dropped int
}

func (q *txQueue) push(m *txMsg, limit int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if m.droppable && len(q.items) >= limit {
		q.dropped++
		return false
	}
	q.items = append(q.items, m)
	return true
}

func (q *txQueue) front() *txMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	return q.items[0]
}

func (q *txQueue) pop(m *txMsg) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) > 0 && q.items[0] == m {
		q.items[0] = nil
		q.items = q.items[1:]
	}
}

// Queued is the number of transaction messages waiting for the CSMS (offline or in flight).
func (s *Station) Queued() int {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return len(s.q.items)
}

// sendTx queues m and, when online, sends the queue up to and including m. It returns m's
// reply; or ErrOffline (wrapped) when m stays queued for replay.
func (s *Station) sendTx(ctx context.Context, m *txMsg) (json.RawMessage, error) {
	m.done = make(chan struct{})
	if !s.q.push(m, s.cfg.MaxQueued) {
		return nil, ErrQueueFull
	}
	err := s.flush(ctx, m)
	select {
	case <-m.done:
		return m.resp, m.err
	default:
	}
	switch {
	case err == nil, errors.Is(err, ErrOffline):
		return nil, ErrOffline
	default:
		return nil, fmt.Errorf("%w (queued for replay): %v", ErrOffline, err)
	}
}

// Flush replays queued transaction messages in order, each with its original message id,
// until the queue is empty or the connection is lost. Run calls it after every boot.
func (s *Station) Flush(ctx context.Context) error { return s.flush(ctx, nil) }

func (s *Station) flush(ctx context.Context, target *txMsg) error {
	var targetDone <-chan struct{}
	if target != nil {
		targetDone = target.done
	}
	select {
	case s.flushSem <- struct{}{}:
	case <-targetDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.flushSem }()
	for {
		if target != nil {
			select {
			case <-target.done:
				return nil
			default:
			}
		}
		m := s.q.front()
		if m == nil {
			return nil
		}
		c := s.ready()
		if c == nil {
			return ErrOffline
		}
		payload := m.payload
		if m.build != nil {
			p, ok := m.build()
			if !ok {
				s.q.pop(m)
				s.finish(m, nil, errDropped)
				continue
			}
			payload = p
		}
		resp, err := c.call(ctx, m.id, m.action, payload)
		var ce *ocppj.CallError
		if err != nil && !errors.As(err, &ce) {
			// Lost connection, timeout or our ctx: keep it at the head, same id next time.
			if ctx.Err() == nil {
				s.lost(c) // offline now, not when the read loop notices: WaitOnline must wait for the next boot
			}
			return err
		}
		s.q.pop(m)
		s.finish(m, resp, err)
	}
}

func (s *Station) finish(m *txMsg, resp json.RawMessage, err error) {
	m.resp, m.err = resp, err
	if m.onReply != nil {
		m.onReply(resp, err)
	}
	close(m.done)
}
