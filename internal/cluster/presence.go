package cluster

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/evcs/evcs/internal/store"
)

// presenceOp is a station's connection or disconnection here, on its way to the store.
type presenceOp struct {
	id, proto string
	claim     bool
	since     time.Time
	done      chan error // nil: nobody waits
}

// presenceNote is the NOTIFY payload of a presence change by one node.
type presenceNote struct {
	Node    string      `json:"n"`
	Claimed [][3]string `json:"c,omitempty"` // station, protocol, since (Unix ms)
	Gone    []string    `json:"r,omitempty"`
	Reset   bool        `json:"x,omitempty"` // forget everything the node held (it starts or leaves)
}

func (c *Cluster) resetPayload() string {
	b, _ := json.Marshal(presenceNote{Node: c.opt.NodeID, Reset: true})
	return string(b)
}

// Claim records that a station connected here. It waits until the row is stored (several
// stations connecting at once share one transaction), so that once the station talks, every
// node can find it; it gives up waiting after a few seconds, and the row follows.
func (c *Cluster) Claim(ctx context.Context, stationID, protocol string) error {
	done := make(chan error, 1)
	if !c.enqueue(presenceOp{id: stationID, proto: protocol, claim: true, since: time.Now(), done: done}) {
		return errClosed
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return context.DeadlineExceeded
	}
}

// Release records that a station's connection here ended (it does not wait).
func (c *Cluster) Release(stationID string) {
	c.enqueue(presenceOp{id: stationID})
}

func (c *Cluster) enqueue(op presenceOp) (ok bool) {
	c.qmu.RLock()
	defer c.qmu.RUnlock()
	if c.qclosed {
		return false
	}
	c.wq <- op // bounded: a full queue slows connecting stations down, nothing is lost
	return true
}

// writer stores presence changes in batches: every change queued while a transaction runs
// goes into the next one. A failed batch is kept and retried with the next.
func (c *Cluster) writer() {
	var retry []presenceOp
	backoff := 20 * time.Millisecond
	for {
		var batch []presenceOp
		if len(retry) == 0 {
			op, ok := <-c.wq
			if !ok {
				return
			}
			batch = append(batch, op)
		} else {
			batch = retry
		}
		open := true
	drain:
		for len(batch) < 2000 {
			select {
			case op, ok := <-c.wq:
				if !ok {
					open = false
					break drain
				}
				batch = append(batch, op)
			default:
				break drain
			}
		}
		err := c.flush(batch)
		for i := range batch {
			if batch[i].done != nil {
				batch[i].done <- err
				batch[i].done = nil
			}
		}
		retry = nil
		if err != nil {
			if c.ctx.Err() != nil || !open {
				return
			}
			c.log.Warn("cluster: store presence", "err", err, "changes", len(batch))
			retry = batch
			select {
			case <-time.After(backoff):
			case <-c.ctx.Done():
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 20 * time.Millisecond
		if !open {
			return
		}
	}
}

// flush writes a batch in one transaction with its notifications: the last change per
// station wins.
func (c *Cluster) flush(batch []presenceOp) error {
	last := make(map[string]presenceOp, len(batch))
	var order []string
	for _, op := range batch {
		if _, ok := last[op.id]; !ok {
			order = append(order, op.id)
		}
		last[op.id] = op
	}
	var claims []store.Presence
	var gone []string
	for _, id := range order {
		op := last[id]
		if op.claim {
			claims = append(claims, store.Presence{StationID: id, NodeID: c.opt.NodeID, Protocol: op.proto, Since: op.since})
		} else {
			gone = append(gone, id)
		}
	}
	notes := c.notes(claims, gone)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.st.InTx(ctx, func(tx store.Tx) error {
		cl := tx.Cluster()
		if len(claims) > 0 {
			if err := cl.Claim(ctx, claims); err != nil {
				return err
			}
		}
		if len(gone) > 0 {
			if err := cl.Release(ctx, c.opt.NodeID, gone); err != nil {
				return err
			}
		}
		for _, n := range notes {
			if err := cl.Notify(ctx, c.presenceCh, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// notes splits a batch into payloads under PostgreSQL's 8000-byte limit.
func (c *Cluster) notes(claims []store.Presence, gone []string) []string {
	if !c.multi {
		return nil
	}
	const limit = 7000
	var out []string
	n := presenceNote{Node: c.opt.NodeID}
	size := 0
	emit := func() {
		if len(n.Claimed)+len(n.Gone) > 0 {
			b, _ := json.Marshal(n)
			out = append(out, string(b))
		}
		n, size = presenceNote{Node: c.opt.NodeID}, 0
	}
	for _, p := range claims {
		if size > limit {
			emit()
		}
		n.Claimed = append(n.Claimed, [3]string{p.StationID, p.Protocol, strconv.FormatInt(p.Since.UnixMilli(), 10)})
		size += len(p.StationID) + len(p.Protocol) + 30
	}
	for _, id := range gone {
		if size > limit {
			emit()
		}
		n.Gone = append(n.Gone, id)
		size += len(id) + 8
	}
	emit()
	return out
}

// applyPresence updates the cache of other nodes' stations from a notification.
func (c *Cluster) applyPresence(payload string) {
	var n presenceNote
	if err := json.Unmarshal([]byte(payload), &n); err != nil || n.Node == c.opt.NodeID {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.Reset {
		for id, p := range c.remote {
			if p.NodeID == n.Node {
				delete(c.remote, id)
			}
		}
		if c.nodes[n.Node].Before(now.Add(c.opt.Lease)) {
			c.nodes[n.Node] = now.Add(c.opt.Lease) // it just wrote: alive
		}
		return
	}
	if c.nodes[n.Node].Before(now.Add(c.opt.Lease)) {
		c.nodes[n.Node] = now.Add(c.opt.Lease)
	}
	var evict []store.Presence
	for _, cl := range n.Claimed {
		p := store.Presence{StationID: cl[0], NodeID: n.Node, Protocol: cl[1], Since: time.UnixMilli(parseInt(cl[2]))}
		c.remote[p.StationID] = p
		evict = append(evict, p)
	}
	for _, id := range n.Gone {
		if p, ok := c.remote[id]; ok && p.NodeID == n.Node {
			delete(c.remote, id)
		}
	}
	if c.local != nil && len(evict) > 0 {
		go func() {
			for _, p := range evict {
				c.local.Evict(p.StationID, p.Since)
			}
		}()
	}
}

// Lookup reports whether another live node holds a station's socket, and its protocol.
func (c *Cluster) Lookup(stationID string) (node, protocol string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.remote[stationID]
	if !ok || !c.nodes[p.NodeID].After(time.Now()) {
		return "", "", false
	}
	return p.NodeID, p.Protocol, true
}

// Presence returns every station connected to a live node (this one included), from the store.
func (c *Cluster) Presence(ctx context.Context) ([]store.Presence, error) {
	var ps []store.Presence
	err := c.st.View(ctx, func(tx store.Tx) (err error) { ps, err = tx.Cluster().LivePresence(ctx, "", time.Now()); return })
	return ps, err
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
