-- +goose Up
-- A 1.6 StartTransaction looks its replay up by start_key alone ("station|key"). The unique
-- index on (station_id, start_key) is partial (WHERE start_key <> ''), which neither engine can
-- use for "start_key = ?", so every session start scanned the sessions table.
CREATE INDEX sessions_start_key_lookup ON sessions(start_key);

-- +goose Down
DROP INDEX sessions_start_key_lookup;
