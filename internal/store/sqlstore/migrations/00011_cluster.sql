-- +goose Up
-- Cluster mode: several `evcs serve` nodes on one PostgreSQL. Times are Unix milliseconds of
-- the writing node's clock (nodes are expected to be NTP-synchronised).
-- A node is alive while its lease is in the future; its heartbeat extends it.
CREATE TABLE cluster_nodes (
    node_id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);
-- Which node holds each connected station's socket, since when. A row counts only while its
-- node's lease lasts, so a dead node's stations read as offline without anyone deleting them.
CREATE TABLE cluster_presence (
    station_id TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    protocol TEXT NOT NULL DEFAULT '',
    since BIGINT NOT NULL
);
CREATE INDEX cluster_presence_node ON cluster_presence(node_id);
-- Background jobs that must run on one node at a time: the holder renews its lease with its
-- heartbeat; an expired lease may be taken by any node.
CREATE TABLE cluster_leases (
    job TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    lease_until BIGINT NOT NULL
);
-- Relayed commands and results too large for a NOTIFY payload (8000 bytes): the notification
-- carries the id, the receiver takes the body.
CREATE TABLE cluster_messages (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE cluster_messages;
DROP TABLE cluster_leases;
DROP TABLE cluster_presence;
DROP TABLE cluster_nodes;
