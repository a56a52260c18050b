-- +goose Up
-- Reports read summaries kept up to date by the use case that ends a session (in its
-- transaction), never the session documents, CDR JSON or meter readings.
--
-- report_sessions: one row per ended session, rated, in columns: the UTC hour bucket it started
-- in (Unix µs) and every key a report groups by. It is the session-level summary because the
-- purchaser and vehicle keys make an aggregate per station × hour as many rows as sessions; a
-- row per session also makes recording idempotent (the session id is the key).
CREATE TABLE report_sessions (
    session_id TEXT PRIMARY KEY,
    bucket BIGINT NOT NULL,
    station_id TEXT NOT NULL,
    site_id TEXT NOT NULL DEFAULT '',
    tariff_id TEXT NOT NULL DEFAULT '',
    account_id TEXT NOT NULL DEFAULT '',
    vehicle_id TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    stopped_at BIGINT NOT NULL,
    energy_wh BIGINT NOT NULL,
    exported_wh BIGINT NOT NULL,
    revenue_excl_minor BIGINT NOT NULL,
    revenue_incl_minor BIGINT NOT NULL,
    duration_s BIGINT NOT NULL,
    power_w BIGINT NOT NULL
);
CREATE INDEX report_sessions_bucket ON report_sessions(bucket);
CREATE INDEX report_sessions_site ON report_sessions(site_id, bucket);
CREATE INDEX report_sessions_station ON report_sessions(station_id, bucket);

-- report_station_hours: per station × UTC hour, the seconds its EVSEs were occupied by sessions
-- and the energy delivered in that hour (a session's energy spread over the hours it ran, in
-- proportion to time). Utilisation and peak site load read it.
CREATE TABLE report_station_hours (
    station_id TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    site_id TEXT NOT NULL DEFAULT '',
    occupied_s BIGINT NOT NULL,
    wh BIGINT NOT NULL,
    PRIMARY KEY (station_id, bucket)
);
CREATE INDEX report_station_hours_bucket ON report_station_hours(bucket);
CREATE INDEX report_station_hours_site ON report_station_hours(site_id, bucket);

-- Reports that read operational tables directly: top-ups (ledger), downtime (status history,
-- only the rare Faulted/Unavailable rows), swaps.
CREATE INDEX ledger_transactions_kind ON ledger_transactions(kind, created_at);
CREATE INDEX status_changes_status ON status_changes(status, at);
CREATE INDEX swap_orders_created ON swap_orders(created_at);
CREATE INDEX battery_events_kind ON battery_events(kind, created_at);

-- +goose Down
DROP INDEX battery_events_kind;
DROP INDEX swap_orders_created;
DROP INDEX status_changes_status;
DROP INDEX ledger_transactions_kind;
DROP TABLE report_station_hours;
DROP TABLE report_sessions;
