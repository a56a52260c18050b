package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/cluster"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/store/postgres"
	"github.com/evcs/evcs/internal/store/sqlite"
)

// Every Main is a node (DESIGN §6): on PostgreSQL, one of any number sharing the database; on
// SQLite, the only one (the database file is locked while it serves). The node records which
// stations it holds, relays commands for stations held by other nodes, and runs exclusive
// background jobs under leases (see internal/cluster).
func init() {
	mounts = append(mounts, func(m *Main, _ chi.Router) {
		// Start calls startCluster first (and fails on its error); this is the fallback for
		// a Main wired without that call: the node still joins, an error is logged.
		if clusterOf(m) != nil {
			return
		}
		clusterViaMount.Store(true)
		if err := m.startCluster(context.Background()); err != nil {
			m.Log.Error("cluster", "err", err)
		}
	})
	shutdowns = append(shutdowns, stopCluster)
}

// clusters holds each Main's node (Main has no field for it).
var clusters sync.Map // *Main → *cluster.Cluster

// clusterOf returns a Main's node (nil before Start).
func clusterOf(m *Main) *cluster.Cluster {
	if c, ok := clusters.Load(m); ok {
		return c.(*cluster.Cluster)
	}
	return nil
}

// clusterViaMount records that a node was joined by the mount, not by Start (tests skip what
// needs Start to fail).
var clusterViaMount atomic.Bool

// clusterLease, when set, overrides the node lease (tests shorten it).
var clusterLease time.Duration

// startCluster joins the node: SQLite's node lock, the node row, presence and the listener.
// A second `serve` on one SQLite file fails here.
func (m *Main) startCluster(ctx context.Context) error {
	if clusterOf(m) != nil {
		return nil
	}
	id, lease := nodeSettings(m.Cfg)
	if clusterLease > 0 {
		lease = clusterLease
	}
	opt := cluster.Options{NodeID: id, Lease: lease, CallTimeout: m.Cfg.CallTimeout, Log: m.Log}
	switch m.Store.Dialect() {
	case "sqlite":
		if err := sqlite.LockNode(m.Store.SQL()); err != nil {
			return fmt.Errorf("--db %s: %w", m.Cfg.DB, err)
		}
	case "postgres":
		opt.DSN = postgres.ConnString(m.Cfg.DB)
		db := m.Store.SQL()
		opt.Notify = func(ctx context.Context, channel, payload string) error {
			_, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload)
			return err
		}
	}
	c := cluster.New(m.Store, m.OCPP, opt)
	if err := c.Start(ctx); err != nil {
		return err
	}
	m.OCPP.SetPeers(c)
	m.App.Leader = c.Leader // alarm sweeps, device polls and site load allocation run on one node
	clusters.Store(m, c)
	m.Log.Info("cluster node", "node", id, "lease", c.Lease().String(), "store", m.Store.Dialect())
	return nil
}

func stopCluster(m *Main) {
	if c, ok := clusters.LoadAndDelete(m); ok {
		c.(*cluster.Cluster).Close()
	}
}

// nodeSeq tells apart the nodes of one process (tests run several Mains).
var nodeSeq atomic.Int64

// nodeSettings reads --node-id and --node-lease; the default id is hostname-pid (-n for the
// n-th Main of a process).
func nodeSettings(cfg config.Config) (id string, lease time.Duration) {
	id, lease = cfg.NodeID, cfg.NodeLease
	if id == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "evcs"
		}
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
		if n := nodeSeq.Add(1); n > 1 {
			id = fmt.Sprintf("%s-%d", id, n)
		}
	}
	return id, lease
}
