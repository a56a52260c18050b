package app

import (
	"context"
	"sync"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/obs"
	"github.com/evcs/evcs/internal/store"
)

// Batcher is group commit: station messages from many connections are applied in one
// transaction, so the store pays one commit (one fsync) per batch rather than per message.
// A batch forms while the previous one commits, so at low load a message waits for nothing.
// If any function of a batch fails the batch is rolled back and each function is retried in a
// transaction of its own, so one bad message never fails its neighbours. Functions must
// therefore only touch the transaction and their own results (they may run twice).
//
// A function that fails on its own with Conflict lost a race to a competing write (on
// PostgreSQL several batches commit at once: two copies of one StartTransaction, a station's
// retry, can both miss each other's uncommitted session). It runs once more: the competitor
// has committed by then, so the use case takes its replay path instead of failing.
type Batcher struct {
	s    store.Store
	reqs chan *batchReq
	max  int
	wg   sync.WaitGroup
	stop chan struct{}
}

type batchReq struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
	ref  store.SessionRef // the session fn looks up, ends or starts, if any (DoSession)
}

// NewBatcher starts workers committing batches of up to max functions.
func NewBatcher(s store.Store, workers, max int) *Batcher {
	b := &Batcher{s: s, reqs: make(chan *batchReq, workers*max), max: max, stop: make(chan struct{})}
	for i := 0; i < workers; i++ {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// Do runs fn in a (shared) transaction and returns when it has committed.
func (b *Batcher) Do(ctx context.Context, fn func(store.Tx) error) error {
	return b.do(ctx, &batchReq{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// DoSession is Do for a function that looks up the session of a station's transaction: a
// batch reads all its functions' sessions in one query before running them
// (store.Tx.PrefetchSessions), instead of a look-up each, for those that may end their
// session (ref.Ending) what ending it reads, and for those that may start one (ref.StartKey)
// what starting it reads.
func (b *Batcher) DoSession(ctx context.Context, ref store.SessionRef, fn func(store.Tx) error) error {
	return b.do(ctx, &batchReq{ctx: ctx, fn: fn, done: make(chan error, 1), ref: ref})
}

func (b *Batcher) do(ctx context.Context, r *batchReq) error {
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stop:
		return errStopped
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the workers after the batches under way.
func (b *Batcher) Close() {
	close(b.stop)
	b.wg.Wait()
}

func (b *Batcher) work() {
	defer b.wg.Done()
	batch := make([]*batchReq, 0, b.max)
	for {
		select {
		case r := <-b.reqs:
			batch = append(batch[:0], r)
		case <-b.stop:
			return
		}
	drain:
		for len(batch) < b.max {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		b.commit(batch)
	}
}

func (b *Batcher) commit(batch []*batchReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.done <- r.ctx.Err()
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) > 1 {
		var refs []store.SessionRef
		for _, r := range live {
			if r.ref != (store.SessionRef{}) {
				refs = append(refs, r.ref)
			}
		}
		err := b.s.InTx(context.Background(), func(tx store.Tx) error {
			// A posting whose key turns out taken fails the batch, and each function then runs
			// alone, where Post finds the key at once and returns the earlier posting.
			tx.DeferPostings()
			if err := tx.KeyedOnly(context.Background()); err != nil {
				return err
			}
			if len(refs) > 1 {
				if err := tx.PrefetchSessions(context.Background(), refs); err != nil {
					return err
				}
			}
			for _, r := range live {
				if err := r.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			obs.BatchMessages.Observe(float64(len(live)))
			for _, r := range live {
				r.done <- nil
			}
			return
		}
		obs.BatchFallbacks.Inc()
	}
	for _, r := range live {
		err := b.s.InTx(r.ctx, r.fn)
		if errs.Is(err, errs.Conflict) && r.ctx.Err() == nil {
			err = b.s.InTx(r.ctx, r.fn)
		}
		if err == nil {
			obs.BatchMessages.Observe(1)
		}
		r.done <- err
	}
}
