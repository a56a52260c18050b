package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/store"
)

// clusterRepo stores node leases, presence, job leases and relayed messages (see
// migrations/00011_cluster.sql). Times are Unix milliseconds.
type clusterRepo struct{ t *tx }

// Cluster returns the cluster tables of the transaction.
func (t *tx) Cluster() store.Cluster { return clusterRepo{t} }

func ms(t time.Time) int64 { return t.UnixMilli() }

func (r clusterRepo) exec(ctx context.Context, op, q string, args ...any) (int64, error) {
	res, err := r.t.q.ExecContext(ctx, r.t.db.rebind(q), args...)
	if err != nil {
		return 0, r.t.db.mapErr(op, err)
	}
	n, err := res.RowsAffected()
	return n, r.t.db.mapErr(op, err)
}

func (r clusterRepo) ExtendNode(ctx context.Context, n store.ClusterNode) (bool, error) {
	k, err := r.exec(ctx, "extend node", "UPDATE cluster_nodes SET lease_until = ? WHERE node_id = ?", ms(n.LeaseUntil), n.ID)
	if err != nil || k > 0 {
		return k > 0, err
	}
	_, err = r.exec(ctx, "insert node", `INSERT INTO cluster_nodes (node_id, started_at, lease_until) VALUES (?, ?, ?)
		ON CONFLICT (node_id) DO UPDATE SET lease_until = excluded.lease_until`, n.ID, ms(n.StartedAt), ms(n.LeaseUntil))
	return false, err
}

func (r clusterRepo) Nodes(ctx context.Context) ([]store.ClusterNode, error) {
	rows, err := r.t.q.QueryContext(ctx, "SELECT node_id, started_at, lease_until FROM cluster_nodes ORDER BY node_id")
	if err != nil {
		return nil, r.t.db.mapErr("nodes", err)
	}
	defer rows.Close()
	var out []store.ClusterNode
	for rows.Next() {
		var n store.ClusterNode
		var started, until int64
		if err := rows.Scan(&n.ID, &started, &until); err != nil {
			return nil, r.t.db.mapErr("nodes", err)
		}
		n.StartedAt, n.LeaseUntil = time.UnixMilli(started).UTC(), time.UnixMilli(until).UTC()
		out = append(out, n)
	}
	return out, r.t.db.mapErr("nodes", rows.Err())
}

func (r clusterRepo) DeleteNode(ctx context.Context, nodeID string) error {
	for _, q := range []string{"DELETE FROM cluster_presence WHERE node_id = ?", "DELETE FROM cluster_leases WHERE node_id = ?",
		"DELETE FROM cluster_nodes WHERE node_id = ?"} {
		if _, err := r.exec(ctx, "delete node", q, nodeID); err != nil {
			return err
		}
	}
	return nil
}

// Claim upserts in multi-row statements. A station appears once per call (the caller keeps
// the last change per station), as PostgreSQL refuses to update one row twice in a statement.
func (r clusterRepo) Claim(ctx context.Context, ps []store.Presence) error {
	const perStmt = 200
	for len(ps) > 0 {
		n := min(len(ps), perStmt)
		var b strings.Builder
		b.WriteString("INSERT INTO cluster_presence (station_id, node_id, protocol, since) VALUES ")
		args := make([]any, 0, 4*n)
		for i, p := range ps[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, p.StationID, p.NodeID, p.Protocol, ms(p.Since))
		}
		b.WriteString(" ON CONFLICT (station_id) DO UPDATE SET node_id = excluded.node_id, protocol = excluded.protocol, since = excluded.since")
		if _, err := r.exec(ctx, "claim presence", b.String(), args...); err != nil {
			return err
		}
		ps = ps[n:]
	}
	return nil
}

func (r clusterRepo) Release(ctx context.Context, nodeID string, stationIDs []string) error {
	const perStmt = 200
	for len(stationIDs) > 0 {
		n := min(len(stationIDs), perStmt)
		args := []any{nodeID}
		for _, id := range stationIDs[:n] {
			args = append(args, id)
		}
		q := "DELETE FROM cluster_presence WHERE node_id = ? AND station_id IN (?" + strings.Repeat(", ?", n-1) + ")"
		if _, err := r.exec(ctx, "release presence", q, args...); err != nil {
			return err
		}
		stationIDs = stationIDs[n:]
	}
	return nil
}

func (r clusterRepo) LivePresence(ctx context.Context, stationID string, now time.Time) ([]store.Presence, error) {
	q := `SELECT p.station_id, p.node_id, p.protocol, p.since FROM cluster_presence p
		JOIN cluster_nodes n ON n.node_id = p.node_id WHERE n.lease_until > ?`
	args := []any{ms(now)}
	if stationID != "" {
		q += " AND p.station_id = ?"
		args = append(args, stationID)
	}
	rows, err := r.t.q.QueryContext(ctx, r.t.db.rebind(q), args...)
	if err != nil {
		return nil, r.t.db.mapErr("presence", err)
	}
	defer rows.Close()
	var out []store.Presence
	for rows.Next() {
		var p store.Presence
		var since int64
		if err := rows.Scan(&p.StationID, &p.NodeID, &p.Protocol, &since); err != nil {
			return nil, r.t.db.mapErr("presence", err)
		}
		p.Since = time.UnixMilli(since).UTC()
		out = append(out, p)
	}
	return out, r.t.db.mapErr("presence", rows.Err())
}

func (r clusterRepo) AcquireLease(ctx context.Context, job, nodeID string, now, until time.Time) (bool, error) {
	n, err := r.exec(ctx, "acquire lease", `INSERT INTO cluster_leases (job, node_id, lease_until) VALUES (?, ?, ?)
		ON CONFLICT (job) DO UPDATE SET node_id = excluded.node_id, lease_until = excluded.lease_until
		WHERE cluster_leases.node_id = excluded.node_id OR cluster_leases.lease_until <= ?`, job, nodeID, ms(until), ms(now))
	return n > 0, err
}

func (r clusterRepo) RenewLeases(ctx context.Context, nodeID string, now, until time.Time) ([]string, error) {
	if _, err := r.exec(ctx, "renew leases", "UPDATE cluster_leases SET lease_until = ? WHERE node_id = ? AND lease_until > ?",
		ms(until), nodeID, ms(now)); err != nil {
		return nil, err
	}
	rows, err := r.t.q.QueryContext(ctx, r.t.db.rebind("SELECT job FROM cluster_leases WHERE node_id = ? AND lease_until = ?"), nodeID, ms(until))
	if err != nil {
		return nil, r.t.db.mapErr("renew leases", err)
	}
	defer rows.Close()
	var jobs []string
	for rows.Next() {
		var j string
		if err := rows.Scan(&j); err != nil {
			return nil, r.t.db.mapErr("renew leases", err)
		}
		jobs = append(jobs, j)
	}
	return jobs, r.t.db.mapErr("renew leases", rows.Err())
}

func (r clusterRepo) ReleaseLease(ctx context.Context, job, nodeID string) error {
	_, err := r.exec(ctx, "release lease", "DELETE FROM cluster_leases WHERE job = ? AND node_id = ?", job, nodeID)
	return err
}

func (r clusterRepo) PutMessage(ctx context.Context, id, body string, at time.Time) error {
	_, err := r.exec(ctx, "put message", "INSERT INTO cluster_messages (id, body, created_at) VALUES (?, ?, ?)", id, body, ms(at))
	return err
}

func (r clusterRepo) TakeMessage(ctx context.Context, id string) (string, error) {
	var body string
	if err := r.t.q.QueryRowContext(ctx, r.t.db.rebind("SELECT body FROM cluster_messages WHERE id = ?"), id).Scan(&body); err != nil {
		return "", r.t.db.mapErr("take message", err)
	}
	_, err := r.exec(ctx, "take message", "DELETE FROM cluster_messages WHERE id = ?", id)
	return body, err
}

func (r clusterRepo) DeleteMessagesBefore(ctx context.Context, t time.Time) error {
	_, err := r.exec(ctx, "delete messages", "DELETE FROM cluster_messages WHERE created_at < ?", ms(t))
	return err
}

func (r clusterRepo) Notify(ctx context.Context, channel, payload string) error {
	if r.t.db.d.Name != "postgres" {
		return nil
	}
	_, err := r.exec(ctx, "notify", "SELECT pg_notify(?, ?)", channel, payload)
	return err
}
