-- +goose Up
-- Monitoring: alarms (document + the columns they are listed by), device readings of site
-- meters and active filters (exact milli-units), and when each station was last seen connected.
CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    station_id TEXT NOT NULL DEFAULT '',
    site_id TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
-- One open alarm per source and kind: a second raise updates it, and two nodes raising the
-- same alarm at once conflict here instead of duplicating it.
CREATE UNIQUE INDEX alarms_open ON alarms(source, kind) WHERE status <> 'cleared';
CREATE INDEX alarms_status ON alarms(status, severity);
CREATE INDEX alarms_station ON alarms(station_id, created_at);

CREATE TABLE device_readings (
    device_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    quantity TEXT NOT NULL,
    phase TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    value_milli BIGINT NOT NULL,
    PRIMARY KEY (device_id, at, quantity, phase)
);

CREATE TABLE station_presence (
    station_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL DEFAULT '',
    connected BOOLEAN NOT NULL,
    last_seen BIGINT NOT NULL
);

-- +goose Down
DROP TABLE station_presence;
DROP TABLE device_readings;
DROP TABLE alarms;
