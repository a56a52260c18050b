package cluster

import (
	"context"
	"time"

	"github.com/evcs/evcs/internal/store"
)

// RunExclusive runs fn while this node holds job's lease, so that one node of the cluster
// runs it at a time; it returns when ctx ends or the node leaves. fn is a long-running loop:
// its ctx ends when the lease is lost (the node could not renew it for a lease) and then
// RunExclusive waits for the lease again; if fn returns by itself the lease is given up and
// competed for again. A dead holder's job moves to another node within about a lease.
func (c *Cluster) RunExclusive(ctx context.Context, job string, fn func(ctx context.Context)) {
	for ctx.Err() == nil && !c.isClosed() {
		jctx, release, ok := c.acquire(ctx, job)
		if ok {
			fn(jctx)
			release()
		}
		select {
		case <-ctx.Done():
			return
		case <-c.ctx.Done():
			return
		case <-time.After(c.beatEvery()):
		}
	}
}

// Once runs fn now if this node can take job's lease (nobody else runs it) and reports
// whether it ran. For periodic work that every node schedules (an invoice run, a sweep):
// whichever node comes first runs it.
func (c *Cluster) Once(ctx context.Context, job string, fn func(ctx context.Context) error) (ran bool, err error) {
	jctx, release, ok := c.acquire(ctx, job)
	if !ok {
		return false, nil
	}
	defer release()
	return true, fn(jctx)
}

// Holds reports whether this node holds job's lease now.
func (c *Cluster) Holds(job string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.held[job]
	return ok
}

// acquire takes job's lease. The returned ctx ends when the lease is lost; release gives the
// lease up.
func (c *Cluster) acquire(ctx context.Context, job string) (context.Context, func(), bool) {
	if c.isClosed() || c.ctx == nil {
		return nil, nil, false
	}
	now := time.Now()
	var ok bool
	qctx, cancel := context.WithTimeout(ctx, c.opt.Lease)
	err := c.st.InTx(qctx, func(tx store.Tx) (err error) {
		ok, err = tx.Cluster().AcquireLease(qctx, job, c.opt.NodeID, now, now.Add(c.opt.Lease))
		return
	})
	cancel()
	if err != nil {
		if ctx.Err() == nil && c.ctx.Err() == nil {
			c.log.Warn("cluster: job lease", "job", job, "err", err)
		}
		return nil, nil, false
	}
	if !ok {
		return nil, nil, false
	}
	jctx, jcancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, jcancel) // the node leaving ends every job
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		stop()
		jcancel()
		return nil, nil, false
	}
	if prev, dup := c.held[job]; dup {
		prev.cancel() // the same job started twice on this node: the newer runs
	}
	h := &heldJob{cancel: jcancel}
	c.held[job] = h
	c.mu.Unlock()
	c.log.Info("cluster: running job", "job", job)
	release := func() {
		stop()
		jcancel()
		c.mu.Lock()
		mine := c.held[job] == h
		if mine {
			delete(c.held, job)
		}
		closed := c.closed
		c.mu.Unlock()
		if closed || !mine {
			return // the node's leases went with it, or a newer run holds it
		}
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.st.InTx(rctx, func(tx store.Tx) error { return tx.Cluster().ReleaseLease(rctx, job, c.opt.NodeID) }); err != nil {
			c.log.Warn("cluster: release job lease", "job", job, "err", err)
		}
	}
	return jctx, release, true
}

// heldJob is a job running here under its lease.
type heldJob struct{ cancel context.CancelFunc }

// Leader reports whether this node runs job, taking its lease when free: for work that every
// node schedules on a timer or an event but one node must do (a sweep, a site's power
// allocation). Once taken, the lease is kept (renewed by the heartbeat) until the node leaves
// or cannot renew it; a node that is not the leader asks the store again at most once per
// heartbeat interval.
func (c *Cluster) Leader(ctx context.Context, job string) bool {
	c.mu.Lock()
	if _, ok := c.held[job]; ok {
		c.mu.Unlock()
		return true
	}
	if c.asked == nil {
		c.asked = map[string]time.Time{}
	}
	if t, ok := c.asked[job]; ok && time.Since(t) < c.beatEvery() {
		c.mu.Unlock()
		return false
	}
	c.asked[job] = time.Now()
	c.mu.Unlock()
	_, _, ok := c.acquire(context.WithoutCancel(ctx), job)
	return ok // kept until lost: acquire's release is never called
}
