package store

import (
	"context"
	"time"
)

// ClusterNode is one `evcs serve` process sharing the database.
type ClusterNode struct {
	ID         string
	StartedAt  time.Time
	LeaseUntil time.Time // alive while in the future; the node's heartbeat extends it
}

// Presence says which node holds a station's socket, since when.
type Presence struct {
	StationID string
	NodeID    string
	Protocol  string // the OCPP subprotocol of the connection
	Since     time.Time
}

// Cluster stores what the nodes of a cluster share: node leases, station presence, job
// leases and relayed messages too large for a notification (see internal/cluster).
type Cluster interface {
	// ExtendNode sets a node's lease; it reports false when the node had no row (first
	// heartbeat, or other nodes declared it dead meanwhile), and then inserts it.
	ExtendNode(ctx context.Context, n ClusterNode) (existed bool, err error)
	// Nodes returns every node row, expired or not.
	Nodes(ctx context.Context) ([]ClusterNode, error)
	// DeleteNode removes a node with its presence and job leases.
	DeleteNode(ctx context.Context, nodeID string) error

	// Claim records stations as connected to their node (insert or replace).
	Claim(ctx context.Context, ps []Presence) error
	// Release removes the presence of those stations that nodeID still holds.
	Release(ctx context.Context, nodeID string, stationIDs []string) error
	// LivePresence returns the presence rows whose node's lease reaches past now; with
	// stationID, only that station's (none: an empty list).
	LivePresence(ctx context.Context, stationID string, now time.Time) ([]Presence, error)

	// AcquireLease gives job to nodeID until until when the job is free, expired at now or
	// already nodeID's; it reports whether nodeID holds it.
	AcquireLease(ctx context.Context, job, nodeID string, now, until time.Time) (bool, error)
	// RenewLeases extends every unexpired lease nodeID holds and returns their jobs.
	RenewLeases(ctx context.Context, nodeID string, now, until time.Time) ([]string, error)
	// ReleaseLease gives up job if nodeID holds it.
	ReleaseLease(ctx context.Context, job, nodeID string) error

	// PutMessage stores a relayed message body; TakeMessage reads and deletes it (NotFound
	// when gone); DeleteMessagesBefore drops bodies nobody took.
	PutMessage(ctx context.Context, id, body string, at time.Time) error
	TakeMessage(ctx context.Context, id string) (string, error)
	DeleteMessagesBefore(ctx context.Context, t time.Time) error

	// Notify sends a notification on a channel, delivered when the transaction commits
	// (PostgreSQL NOTIFY; nothing on SQLite, where there is one node).
	Notify(ctx context.Context, channel, payload string) error
}
