package cluster

import (
	"context"
	"encoding/json"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// wire is a relayed command ("req"), its receipt ("ack") or its result ("res") on a node's channel. A message too
// large for a notification travels as a reference to its body in the store.
type wire struct {
	T       string              `json:"t,omitempty"`
	ID      string              `json:"id,omitempty"`
	From    string              `json:"from,omitempty"` // the caller's channel
	Station string              `json:"st,omitempty"`
	Req     *app.CommandRequest `json:"req,omitempty"`
	Wait    int64               `json:"wait,omitempty"` // ms the caller waits
	Action  string              `json:"a,omitempty"`
	Result  json.RawMessage     `json:"r,omitempty"`
	Status  string              `json:"s,omitempty"`
	Err     string              `json:"e,omitempty"`
	Kind    errs.Kind           `json:"k,omitempty"`
	Ref     string              `json:"ref,omitempty"`
}

// maxPayload keeps notifications under PostgreSQL's 8000-byte limit.
const maxPayload = 7900

// Command sends a command to a station held by another node and waits for its result. The
// errors are those of a local command: errs Conflict when no live node holds the station,
// errs Unavailable when its node does not answer in time.
func (c *Cluster) Command(ctx context.Context, stationID string, req app.CommandRequest) (string, json.RawMessage, string, error) {
	node, _, ok := c.Lookup(stationID)
	if !ok && c.multi {
		node, ok = c.lookupStore(ctx, stationID) // connected a moment ago: the cache may lag
	}
	if !ok || !c.multi {
		return "", nil, "", errs.E(errs.Conflict, "station %s is not connected", stationID)
	}
	wait := c.opt.CallTimeout + 2*time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	w := wire{T: "req", ID: newID(), From: c.selfCh, Station: stationID, Req: &req, Wait: wait.Milliseconds()}
	ch := make(chan wire, 2)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", nil, "", errs.E(errs.Unavailable, "this node is leaving the cluster")
	}
	c.pending[w.ID] = ch
	c.mu.Unlock()
	defer func() { c.mu.Lock(); delete(c.pending, w.ID); c.mu.Unlock() }()
	if err := c.send(ctx, c.channelOf(node), w); err != nil {
		return "", nil, "", errs.E(errs.Unavailable, "relay to node %s: %v", node, err)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	// The owner acknowledges at once: a node that died within its lease is found out in
	// ackTimeout, not after the whole call timeout.
	ack := time.NewTimer(min(ackTimeout, wait))
	defer ack.Stop()
	for {
		select {
		case res, ok := <-ch:
			if !ok {
				return "", nil, "", errs.E(errs.Unavailable, "this node is leaving the cluster")
			}
			if res.T == "ack" {
				ack.Stop()
				continue
			}
			var err error
			if res.Err != "" {
				err = &errs.Error{Kind: res.Kind, Msg: res.Err}
			}
			return res.Action, res.Result, res.Status, err
		case <-ack.C:
			return "", nil, "", errs.E(errs.Unavailable, "node %s holding station %s does not answer", node, stationID)
		case <-ctx.Done():
			return "", nil, "", errs.E(errs.Unavailable, "station %s on node %s: %v", stationID, node, ctx.Err())
		case <-t.C:
			return "", nil, "", errs.E(errs.Unavailable, "node %s holding station %s did not answer", node, stationID)
		}
	}
}

// ackTimeout bounds the wait for the owner node's acknowledgement of a relayed command.
const ackTimeout = 2 * time.Second

func (c *Cluster) lookupStore(ctx context.Context, stationID string) (string, bool) {
	var ps []store.Presence
	err := c.st.View(ctx, func(tx store.Tx) (err error) { ps, err = tx.Cluster().LivePresence(ctx, stationID, time.Now()); return })
	if err != nil || len(ps) == 0 || ps[0].NodeID == c.opt.NodeID {
		return "", false
	}
	return ps[0].NodeID, true
}

// send notifies a channel, storing the body when it is too large for the payload.
func (c *Cluster) send(ctx context.Context, channel string, w wire) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	if len(b) <= maxPayload && c.opt.Notify != nil {
		return c.opt.Notify(ctx, channel, string(b)) // one round trip, no transaction around it
	}
	return c.st.InTx(ctx, func(tx store.Tx) error {
		if len(b) <= maxPayload {
			return tx.Cluster().Notify(ctx, channel, string(b))
		}
		ref := newID()
		if err := tx.Cluster().PutMessage(ctx, ref, string(b), time.Now()); err != nil {
			return err
		}
		head, _ := json.Marshal(wire{Ref: ref})
		return tx.Cluster().Notify(ctx, channel, string(head))
	})
}

// serveRequest runs a relayed command on a station connected here and answers the caller.
func (c *Cluster) serveRequest(w wire) {
	wait := time.Duration(w.Wait) * time.Millisecond
	if wait <= 0 || wait > c.opt.CallTimeout+2*time.Second {
		wait = c.opt.CallTimeout + 2*time.Second
	}
	ctx, cancel := context.WithTimeout(c.ctx, wait)
	defer cancel()
	// A command that takes a while is acknowledged, so the caller keeps waiting; most answer
	// before and need no second notification.
	finished := make(chan struct{})
	defer close(finished)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTimer(ackTimeout / 4)
		defer t.Stop()
		select {
		case <-finished:
			return
		case <-t.C:
		}
		if err := c.send(ctx, w.From, wire{T: "ack", ID: w.ID}); err != nil && c.ctx.Err() == nil {
			c.log.Warn("cluster: relay ack", "station", w.Station, "err", err)
		}
	}()
	res := wire{T: "res", ID: w.ID}
	var err error
	switch {
	case w.Req == nil:
		err = errs.E(errs.Invalid, "relayed command without a request")
	case c.local == nil:
		err = errs.E(errs.Conflict, "station %s is not connected", w.Station)
	default:
		res.Action, res.Result, res.Status, err = c.local.LocalCommand(ctx, w.Station, *w.Req)
	}
	if err != nil {
		res.Err, res.Kind = errs.Message(err), errs.KindOf(err)
		if res.Err == "" {
			res.Err = err.Error()
		}
	}
	sctx, scancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer scancel()
	if err := c.send(sctx, w.From, res); err != nil && c.ctx.Err() == nil {
		c.log.Warn("cluster: relay result", "station", w.Station, "err", err)
	}
}
