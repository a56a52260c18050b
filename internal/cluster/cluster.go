// Package cluster lets several `evcs serve` nodes share one PostgreSQL database (DESIGN §6):
//
//   - node leases: every node has a row whose lease its heartbeat extends; a node that stops
//     heart-beating (kill -9, partition) is dead once its lease has passed;
//   - presence: which node holds each station's socket, since when. A presence row counts only
//     while its node's lease lasts, so a dead node's stations read as offline at once, and they
//     reconnect to another node, which claims them;
//   - command relay: a command for a station held by another node goes to that node by
//     PostgreSQL NOTIFY on the node's channel, and the result comes back on the caller's;
//   - exclusive jobs: background work that must run on one node at a time holds a lease
//     (RunExclusive, Once, Holds).
//
// Each node keeps a cache of the other nodes' presence, fed by NOTIFY in the transaction that
// writes the rows and reloaded from the store whenever the listening connection (re)starts:
// the store is the truth, the cache answers Connected without a query.
//
// On SQLite there is one node (the database file is locked): presence and leases are still
// stored, nothing is relayed.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// Options configure a node.
type Options struct {
	NodeID string        // unique among the nodes sharing the database
	Lease  time.Duration // a node (and a job) is dead this long after its last heartbeat; default 10 s
	// DSN is the PostgreSQL URL the node LISTENs through; "" runs a single node (SQLite).
	DSN string
	// CallTimeout is how long a station may take to answer a command (the OCPP call timeout);
	// a relayed command waits this long plus a margin for the owner node.
	CallTimeout time.Duration
	// Notify, when set, sends a notification by itself (autocommit); relayed commands use it
	// instead of a transaction of their own, one round trip instead of three.
	Notify func(ctx context.Context, channel, payload string) error
	Log    *slog.Logger
}

// Local is this node's OCPP server, as the cluster needs it.
type Local interface {
	// LocalCommand sends a command to a station connected to this node.
	LocalCommand(ctx context.Context, stationID string, req app.CommandRequest) (string, json.RawMessage, string, error)
	// LocalStations lists the stations connected here with their protocol.
	LocalStations() map[string]string
	// Evict closes a station's connection here if it opened before since: the station has
	// connected to another node since (its old socket here is a zombie).
	Evict(stationID string, since time.Time)
}

// DefaultLease is the node and job lease when Options leave it zero.
const DefaultLease = 10 * time.Second

// Cluster is this node's membership.
type Cluster struct {
	st    store.Store
	opt   Options
	log   *slog.Logger
	local Local
	multi bool // PostgreSQL: other nodes may exist

	presenceCh, selfCh string // NOTIFY channels (namespaced by database and schema)
	ns                 string

	mu      sync.Mutex
	remote  map[string]store.Presence // stations held by other nodes
	nodes   map[string]time.Time      // other nodes' lease ends, as last seen
	pending map[string]chan wire      // relayed commands waiting for their result
	held    map[string]*heldJob
	asked   map[string]time.Time // Leader's last try per job not held
	beatOK  time.Time            // last successful heartbeat
	closed  bool

	qmu      sync.RWMutex // guards wq's closing
	qclosed  bool
	wq       chan presenceOp
	ready    chan struct{} // closed once the listener has loaded the presence snapshot
	readyOne sync.Once
	started  time.Time
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	writerWG sync.WaitGroup
}

// New prepares a node over st; Start runs it.
func New(st store.Store, local Local, opt Options) *Cluster {
	if opt.Lease <= 0 {
		opt.Lease = DefaultLease
	}
	if opt.CallTimeout <= 0 {
		opt.CallTimeout = 30 * time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Cluster{st: st, opt: opt, log: opt.Log.With("node", opt.NodeID), local: local, multi: opt.DSN != "",
		remote: map[string]store.Presence{}, nodes: map[string]time.Time{}, pending: map[string]chan wire{},
		held: map[string]*heldJob{}, wq: make(chan presenceOp, 4096), ready: make(chan struct{})}
}

// NodeID is this node's identity.
func (c *Cluster) NodeID() string { return c.opt.NodeID }

// Lease is the node and job lease.
func (c *Cluster) Lease() time.Duration { return c.opt.Lease }

func (c *Cluster) beatEvery() time.Duration { return max(c.opt.Lease/4, 20*time.Millisecond) }

// Start records the node, forgets presence a previous run under the same id left behind and
// starts the heartbeat, the presence writer and (PostgreSQL) the listener. On SQLite every
// other node row is stale by construction (the file is locked by this process) and goes.
func (c *Cluster) Start(ctx context.Context) error {
	c.started = time.Now()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var conn *pgx.Conn
	if c.multi {
		var err error
		if conn, err = c.listenConn(ctx); err != nil { // names the channels too
			c.cancel()
			return errs.Wrap("cluster listen", err)
		}
	}
	err := c.st.InTx(ctx, func(tx store.Tx) error {
		cl := tx.Cluster()
		if err := cl.DeleteNode(ctx, c.opt.NodeID); err != nil {
			return err
		}
		if !c.multi {
			nodes, err := cl.Nodes(ctx)
			if err != nil {
				return err
			}
			for _, n := range nodes {
				if err := cl.DeleteNode(ctx, n.ID); err != nil {
					return err
				}
			}
		}
		if _, err := cl.ExtendNode(ctx, store.ClusterNode{ID: c.opt.NodeID, StartedAt: c.started, LeaseUntil: c.started.Add(c.opt.Lease)}); err != nil {
			return err
		}
		return cl.Notify(ctx, c.presenceCh, c.resetPayload())
	})
	if err != nil {
		if conn != nil {
			conn.Close(context.Background())
		}
		c.cancel()
		return errs.Wrap("cluster start", err)
	}
	c.beatOK = c.started
	if c.multi {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.listen(conn) }()
		select { // the first snapshot, so Connected knows the other nodes' stations at once
		case <-c.ready:
		case <-ctx.Done():
		}
	}
	c.writerWG.Add(1)
	go func() { defer c.writerWG.Done(); c.writer() }()
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.heartbeat() }()
	return nil
}

// Close leaves the cluster: exclusive jobs stop, the node's presence and leases are deleted
// (other nodes take over at once instead of after the lease) and the listener ends.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed || c.cancel == nil {
		c.closed = true
		c.mu.Unlock()
		return
	}
	c.closed = true
	for _, h := range c.held {
		h.cancel()
	}
	c.mu.Unlock()
	c.qmu.Lock()
	c.qclosed = true
	close(c.wq) // the writer flushes what is queued, then ends
	c.qmu.Unlock()
	c.writerWG.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.Cluster().DeleteNode(ctx, c.opt.NodeID); err != nil {
			return err
		}
		return tx.Cluster().Notify(ctx, c.presenceCh, c.resetPayload())
	})
	if err != nil {
		c.log.Warn("cluster: leaving", "err", err)
	}
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	for id, ch := range c.pending {
		delete(c.pending, id)
		close(ch)
	}
	c.mu.Unlock()
}

func (c *Cluster) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// heartbeat extends the node's lease and its jobs' leases, learns which nodes live, removes
// the dead ones' rows and drops old relayed bodies. A node that cannot reach the store for a
// whole lease stops its exclusive jobs: another node may hold them by now.
func (c *Cluster) heartbeat() {
	t := time.NewTicker(c.beatEvery())
	defer t.Stop()
	var sweeps int
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		sweeps++
		if err := c.beat(sweeps%256 == 0); err != nil && c.ctx.Err() == nil {
			c.log.Warn("cluster: heartbeat", "err", err)
			c.mu.Lock()
			lost := time.Since(c.beatOK) >= c.opt.Lease
			if lost {
				for job, h := range c.held {
					h.cancel()
					delete(c.held, job)
				}
			}
			c.mu.Unlock()
		}
	}
}

func (c *Cluster) beat(gc bool) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.opt.Lease)
	defer cancel()
	now := time.Now()
	until := now.Add(c.opt.Lease)
	var existed bool
	var jobs []string
	var nodes []store.ClusterNode
	err := c.st.InTx(ctx, func(tx store.Tx) error {
		cl := tx.Cluster()
		var err error
		if existed, err = cl.ExtendNode(ctx, store.ClusterNode{ID: c.opt.NodeID, StartedAt: c.started, LeaseUntil: until}); err != nil {
			return err
		}
		if jobs, err = cl.RenewLeases(ctx, c.opt.NodeID, now, until); err != nil {
			return err
		}
		if nodes, err = cl.Nodes(ctx); err != nil {
			return err
		}
		// A node dead for a second lease is gone for good: its rows go (any node may do it).
		for _, n := range nodes {
			if n.ID != c.opt.NodeID && n.LeaseUntil.Add(c.opt.Lease).Before(now) {
				if err := cl.DeleteNode(ctx, n.ID); err != nil {
					return err
				}
			}
		}
		if gc {
			return cl.DeleteMessagesBefore(ctx, now.Add(-time.Minute))
		}
		return nil
	})
	if err != nil {
		return err
	}
	renewed := map[string]bool{}
	for _, j := range jobs {
		renewed[j] = true
	}
	c.mu.Lock()
	c.beatOK = now
	for job, h := range c.held {
		if !renewed[job] {
			h.cancel() // taken over while this node could not renew it
			delete(c.held, job)
		}
	}
	for _, n := range nodes {
		if n.ID != c.opt.NodeID {
			c.nodes[n.ID] = n.LeaseUntil
		}
	}
	c.mu.Unlock()
	if !existed {
		// Other nodes declared this one dead (it could not beat for a lease) and removed its
		// presence: claim the stations still connected here again.
		c.reclaimAll()
	}
	return nil
}

func (c *Cluster) reclaimAll() {
	if c.local == nil {
		return
	}
	for id, proto := range c.local.LocalStations() {
		c.enqueue(presenceOp{id: id, proto: proto, claim: true, since: time.Now()})
	}
}

// nsHash names the NOTIFY channels of one database and schema: channels are per database,
// and tests run one schema each in the same database.
func nsHash(db, schema string) string {
	h := sha256.Sum256([]byte(db + "\x00" + schema))
	return hex.EncodeToString(h[:5])
}

func (c *Cluster) channelOf(node string) string {
	h := sha256.Sum256([]byte(node))
	return "evcs_" + c.ns + "_n_" + hex.EncodeToString(h[:6])
}

// listenConn opens the LISTEN connection and names the channels.
func (c *Cluster) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, c.opt.DSN)
	if err != nil {
		return nil, err
	}
	var db, schema string
	if err := conn.QueryRow(ctx, "SELECT current_database(), current_schema()").Scan(&db, &schema); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	ns := nsHash(db, schema)
	if c.ns == "" {
		c.ns = ns
		c.presenceCh, c.selfCh = "evcs_"+ns+"_p", c.channelOf(c.opt.NodeID)
	}
	for _, ch := range []string{c.presenceCh, c.selfCh} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			conn.Close(ctx)
			return nil, err
		}
	}
	return conn, nil
}

// listen receives notifications until the node stops, reconnecting (and reloading the
// presence snapshot) whenever the connection is lost.
func (c *Cluster) listen(conn *pgx.Conn) {
	backoff := 50 * time.Millisecond
	for c.ctx.Err() == nil {
		if conn == nil {
			var err error
			if conn, err = c.listenConn(c.ctx); err != nil {
				if c.ctx.Err() == nil {
					c.log.Warn("cluster: listen", "err", err, "retry_in", backoff)
				}
				select {
				case <-c.ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 2*time.Second)
				continue
			}
		}
		if err := c.loadSnapshot(); err != nil {
			c.log.Warn("cluster: presence snapshot", "err", err)
			conn.Close(context.Background())
			conn = nil
			continue
		}
		backoff = 50 * time.Millisecond
		c.readyOne.Do(func() { close(c.ready) })
		for {
			n, err := conn.WaitForNotification(c.ctx)
			if err != nil {
				if c.ctx.Err() == nil {
					c.log.Warn("cluster: listening connection lost", "err", err)
				}
				break
			}
			c.dispatch(n.Channel, n.Payload)
		}
		conn.Close(context.Background())
		conn = nil
	}
	if conn != nil {
		conn.Close(context.Background())
	}
}

func (c *Cluster) loadSnapshot() error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	var ps []store.Presence
	var nodes []store.ClusterNode
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		if ps, err = tx.Cluster().LivePresence(ctx, "", time.Now()); err != nil {
			return err
		}
		nodes, err = tx.Cluster().Nodes(ctx)
		return err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remote = make(map[string]store.Presence, len(ps))
	for _, p := range ps {
		if p.NodeID != c.opt.NodeID {
			c.remote[p.StationID] = p
		}
	}
	for _, n := range nodes {
		if n.ID != c.opt.NodeID {
			c.nodes[n.ID] = n.LeaseUntil
		}
	}
	return nil
}

func (c *Cluster) dispatch(channel, payload string) {
	if channel == c.presenceCh {
		c.applyPresence(payload)
		return
	}
	var w wire
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		c.log.Warn("cluster: bad notification", "err", err)
		return
	}
	if w.Ref != "" {
		go func() { // the body is in the store
			ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			defer cancel()
			var body string
			err := c.st.InTx(ctx, func(tx store.Tx) (err error) { body, err = tx.Cluster().TakeMessage(ctx, w.Ref); return })
			if err != nil {
				c.log.Warn("cluster: relayed message", "ref", w.Ref, "err", err)
				return
			}
			var full wire
			if json.Unmarshal([]byte(body), &full) == nil {
				c.handleWire(full)
			}
		}()
		return
	}
	c.handleWire(w)
}

func (c *Cluster) handleWire(w wire) {
	switch w.T {
	case "req":
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.serveRequest(w) }()
	case "ack":
		c.mu.Lock()
		ch, ok := c.pending[w.ID]
		c.mu.Unlock()
		if ok {
			select {
			case ch <- w:
			default:
			}
		}
	case "res":
		c.mu.Lock()
		ch, ok := c.pending[w.ID]
		delete(c.pending, w.ID)
		c.mu.Unlock()
		if ok {
			ch <- w
		}
	}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var errClosed = errors.New("cluster: closed")
