-- +goose Up
-- The query API: columns that list filters, amount ranges and sorts read, filled from the
-- documents (json(data) ->> 'key' reads a document on both SQLite and PostgreSQL), and the
-- indexes that keep a sorted or time-bounded page an index range at 1,000,000 sessions and
-- 100,000 purchasers. Every sort index ends in id: the keyset cursor is (sort column, id).
--
-- Amounts not known yet (an unrated session's cost, an uncharged swap) are -1: both are never
-- negative once known, and a NOT NULL column sorts alike on both engines. A running session's
-- stopped_at is 0.
ALTER TABLE sessions ADD COLUMN vehicle_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN tariff_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN cost_minor BIGINT NOT NULL DEFAULT -1;
ALTER TABLE sessions ADD COLUMN stopped_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET
    vehicle_id = COALESCE(json(data) ->> 'vehicle_id', ''),
    tariff_id = COALESCE(json(data) ->> 'tariff_id', ''),
    currency = COALESCE(json(data) ->> 'currency', ''),
    cost_minor = COALESCE(CAST(json(data) ->> 'cost_minor' AS BIGINT), -1);
-- The stop time is an RFC 3339 string in the document; the report summary has it in µs, and a
-- stopped session was last updated when it stopped otherwise.
UPDATE sessions SET stopped_at = COALESCE((SELECT r.stopped_at FROM report_sessions r WHERE r.session_id = sessions.id), updated_at)
    WHERE json(data) ->> 'stopped_at' IS NOT NULL;
DROP INDEX sessions_started;
CREATE INDEX sessions_started ON sessions(created_at, id);
CREATE INDEX sessions_stopped ON sessions(stopped_at, id);
CREATE INDEX sessions_cost ON sessions(cost_minor, id);
CREATE INDEX sessions_vehicle ON sessions(vehicle_id, created_at);
CREATE INDEX sessions_tariff ON sessions(tariff_id, created_at);

ALTER TABLE cdrs ADD COLUMN tariff_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cdrs ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE cdrs ADD COLUMN total_minor BIGINT NOT NULL DEFAULT 0;
UPDATE cdrs SET
    tariff_id = COALESCE(json(data) ->> 'tariff_id', ''),
    currency = COALESCE(json(data) ->> 'currency', ''),
    total_minor = COALESCE(CAST(json(data) ->> 'total_minor' AS BIGINT), 0);
CREATE INDEX cdrs_created ON cdrs(created_at, id);
CREATE INDEX cdrs_total ON cdrs(total_minor, id);
CREATE INDEX cdrs_station ON cdrs(station_id, created_at);
CREATE INDEX cdrs_tariff ON cdrs(tariff_id, created_at);

ALTER TABLE invoices ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN total_minor BIGINT NOT NULL DEFAULT 0;
UPDATE invoices SET
    currency = COALESCE(json(data) ->> 'currency', ''),
    total_minor = COALESCE(CAST(json(data) ->> 'total_minor' AS BIGINT), 0);
CREATE INDEX invoices_created ON invoices(created_at, id);
CREATE INDEX invoices_total ON invoices(total_minor, id);

ALTER TABLE swap_orders ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE swap_orders ADD COLUMN total_minor BIGINT NOT NULL DEFAULT -1;
UPDATE swap_orders SET
    currency = COALESCE(json(data) ->> 'currency', ''),
    total_minor = COALESCE(CAST(json(data) ->> 'total_minor' AS BIGINT), -1);

-- Master data large enough to need them: 100,000 purchasers, their accounts, tokens, vehicles.
CREATE INDEX users_created ON users(created_at, id);
CREATE INDEX users_name ON users(name, id);
CREATE INDEX accounts_created ON accounts(created_at, id);
CREATE INDEX id_tokens_created ON id_tokens(created_at, id);
CREATE INDEX vehicles_created ON vehicles(created_at, id);
CREATE INDEX vehicles_plate ON vehicles(plate, id);
CREATE INDEX audit_created ON audit_events(created_at, id);

-- +goose Down
DROP INDEX audit_created;
DROP INDEX vehicles_plate;
DROP INDEX vehicles_created;
DROP INDEX id_tokens_created;
DROP INDEX accounts_created;
DROP INDEX users_name;
DROP INDEX users_created;
ALTER TABLE swap_orders DROP COLUMN total_minor;
ALTER TABLE swap_orders DROP COLUMN currency;
DROP INDEX invoices_total;
DROP INDEX invoices_created;
ALTER TABLE invoices DROP COLUMN total_minor;
ALTER TABLE invoices DROP COLUMN currency;
DROP INDEX cdrs_tariff;
DROP INDEX cdrs_station;
DROP INDEX cdrs_total;
DROP INDEX cdrs_created;
ALTER TABLE cdrs DROP COLUMN total_minor;
ALTER TABLE cdrs DROP COLUMN currency;
ALTER TABLE cdrs DROP COLUMN tariff_id;
DROP INDEX sessions_tariff;
DROP INDEX sessions_vehicle;
DROP INDEX sessions_cost;
DROP INDEX sessions_stopped;
DROP INDEX sessions_started;
CREATE INDEX sessions_started ON sessions(created_at);
ALTER TABLE sessions DROP COLUMN stopped_at;
ALTER TABLE sessions DROP COLUMN cost_minor;
ALTER TABLE sessions DROP COLUMN currency;
ALTER TABLE sessions DROP COLUMN tariff_id;
ALTER TABLE sessions DROP COLUMN vehicle_id;
