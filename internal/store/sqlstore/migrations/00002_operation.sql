-- +goose Up
-- Operation: sessions (document + columns), every meter reading, connector status history and
-- live status, other station reports, operator commands, and counters (1.6 transaction ids).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    station_id TEXT NOT NULL REFERENCES stations(id),
    evse_no INTEGER NOT NULL,
    tx_ref TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    id_token TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    energy_wh BIGINT NOT NULL DEFAULT 0,
    exported_wh BIGINT NOT NULL DEFAULT 0,
    start_key TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX sessions_tx ON sessions(station_id, tx_ref);
-- 1.6 StartTransaction has no station-made id: its content is the key that makes a replay
-- find the session it already created.
CREATE UNIQUE INDEX sessions_start_key ON sessions(station_id, start_key) WHERE start_key <> '';
CREATE INDEX sessions_account ON sessions(account_id, created_at);
CREATE INDEX sessions_status ON sessions(status, station_id);
CREATE INDEX sessions_started ON sessions(created_at);

CREATE TABLE meter_readings (
    session_id TEXT NOT NULL DEFAULT '',
    station_id TEXT NOT NULL,
    evse_no INTEGER NOT NULL,
    at BIGINT NOT NULL,
    measurand TEXT NOT NULL,
    phase TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    context TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    value_milli BIGINT NOT NULL
);
CREATE INDEX meter_readings_session ON meter_readings(session_id, at);
CREATE INDEX meter_readings_station ON meter_readings(station_id, at);

CREATE TABLE status_changes (
    station_id TEXT NOT NULL,
    evse_no INTEGER NOT NULL,
    connector_no INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL DEFAULT '',
    info TEXT NOT NULL DEFAULT '',
    vendor_error_code TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX status_changes_station ON status_changes(station_id, at);

CREATE TABLE connector_status (
    station_id TEXT NOT NULL,
    evse_no INTEGER NOT NULL,
    connector_no INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL DEFAULT '',
    info TEXT NOT NULL DEFAULT '',
    vendor_error_code TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL,
    PRIMARY KEY (station_id, evse_no, connector_no)
);

CREATE TABLE station_events (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    station_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX station_events_station ON station_events(station_id, created_at);

CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    station_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX commands_station ON commands(station_id, created_at);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- +goose Down
DROP TABLE counters;
DROP TABLE commands;
DROP TABLE station_events;
DROP TABLE connector_status;
DROP TABLE status_changes;
DROP TABLE meter_readings;
DROP TABLE sessions;
