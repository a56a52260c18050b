-- +goose Up
-- A StartTransaction's replay look-up now names the station (station_id = ? AND start_key = ?
-- AND start_key <> ''), which the unique partial index sessions_start_key serves on both
-- engines. The index 00017 added for "start_key = ?" alone is no longer read, and every session
-- start paid for writing it.
DROP INDEX sessions_start_key_lookup;

-- +goose Down
CREATE INDEX sessions_start_key_lookup ON sessions(start_key);
