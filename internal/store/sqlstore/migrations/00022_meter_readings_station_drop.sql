-- +goose Up
-- Readings are only ever read by session (Readings: session_id = ? ORDER BY at, through
-- meter_readings_session). meter_readings_station was read by nothing, and every reading wrote
-- it: keyed by station, each reading of a batch landed on a leaf page of its own, the largest
-- share of the pages a SQLite commit writes (40 of 261 a commit with 100 stations).
DROP INDEX meter_readings_station;

-- +goose Down
CREATE INDEX meter_readings_station ON meter_readings(station_id, at);
