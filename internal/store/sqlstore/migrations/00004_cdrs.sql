-- +goose Up
-- CDRs: one per ended session, the OCPI 2.2.1 CDR with its cost fields as rated.
CREATE TABLE cdrs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    station_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX cdrs_session ON cdrs(session_id);
CREATE INDEX cdrs_account ON cdrs(account_id, created_at);

-- +goose Down
DROP TABLE cdrs;
