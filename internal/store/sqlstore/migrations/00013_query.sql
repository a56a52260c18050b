-- +goose Up
-- The query API: columns that list filters, amount ranges and sorts read, filled from the
-- documents (json(data) ->> 'key' reads a document on both SQLite and PostgreSQL), and the
-- indexes that keep a sorted or time-bounded page an index range at 1,000,000 sessions and
-- 100,000 purchasers. Every sort index ends in id: the keyset cursor is (sort column, id).
--
-- Amounts are kept in thousandths of the currency's major unit ("milli": no currency has more
-- than three fraction digits), so an amount range is one index range whatever the currency.
-- Amounts not known yet (an unrated session's cost, an uncharged swap) are -1: both are never
-- negative once known, and a NOT NULL column sorts alike on both engines. A running session's
-- stopped_at is 0. The scale of the backfill below is that of the currencies EVCS knows today;
-- rows written later get theirs from money.Digits.
ALTER TABLE sessions ADD COLUMN vehicle_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN tariff_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN cost_milli BIGINT NOT NULL DEFAULT -1;
ALTER TABLE sessions ADD COLUMN stopped_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET
    vehicle_id = COALESCE(json(data) ->> 'vehicle_id', ''),
    tariff_id = COALESCE(json(data) ->> 'tariff_id', ''),
    currency = COALESCE(json(data) ->> 'currency', '');
UPDATE sessions SET cost_milli = CAST(json(data) ->> 'cost_minor' AS BIGINT) * CASE
        WHEN currency IN ('CLP', 'ISK', 'JPY', 'KRW', 'VND') THEN 1000 WHEN currency IN ('BHD', 'JOD', 'KWD', 'OMR', 'TND') THEN 1 ELSE 10 END
    WHERE json(data) ->> 'cost_minor' IS NOT NULL;
-- The stop time is an RFC 3339 string in the document; the report summary has it in µs, and a
-- stopped session was last updated when it stopped otherwise.
UPDATE sessions SET stopped_at = COALESCE((SELECT r.stopped_at FROM report_sessions r WHERE r.session_id = sessions.id), updated_at)
    WHERE json(data) ->> 'stopped_at' IS NOT NULL;
DROP INDEX sessions_started;
CREATE INDEX sessions_started ON sessions(created_at, id);
CREATE INDEX sessions_stopped ON sessions(stopped_at, id);
CREATE INDEX sessions_cost ON sessions(cost_milli, id);
-- Most sessions have no vehicle and charge: these two index only the others, and cost a
-- session's updates nothing.
CREATE INDEX sessions_vehicle ON sessions(vehicle_id, id) WHERE vehicle_id <> '';
CREATE INDEX sessions_discharge ON sessions(kind, id) WHERE kind <> 'charge';
CREATE INDEX sessions_tariff ON sessions(tariff_id, id);
-- A status filter in id order (the running sessions) reads its rows, not the table up to them.
CREATE INDEX sessions_status_id ON sessions(status, id);

ALTER TABLE cdrs ADD COLUMN tariff_id TEXT NOT NULL DEFAULT '';
ALTER TABLE cdrs ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE cdrs ADD COLUMN total_milli BIGINT NOT NULL DEFAULT 0;
UPDATE cdrs SET
    tariff_id = COALESCE(json(data) ->> 'tariff_id', ''),
    currency = COALESCE(json(data) ->> 'currency', '');
UPDATE cdrs SET total_milli = COALESCE(CAST(json(data) ->> 'total_minor' AS BIGINT), 0) * CASE
    WHEN currency IN ('CLP', 'ISK', 'JPY', 'KRW', 'VND') THEN 1000 WHEN currency IN ('BHD', 'JOD', 'KWD', 'OMR', 'TND') THEN 1 ELSE 10 END;
CREATE INDEX cdrs_created ON cdrs(created_at, id);
CREATE INDEX cdrs_total ON cdrs(total_milli, id);
CREATE INDEX cdrs_station ON cdrs(station_id, created_at);
CREATE INDEX cdrs_tariff ON cdrs(tariff_id, id);

ALTER TABLE invoices ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN total_milli BIGINT NOT NULL DEFAULT 0;
UPDATE invoices SET currency = COALESCE(json(data) ->> 'currency', '');
UPDATE invoices SET total_milli = COALESCE(CAST(json(data) ->> 'total_minor' AS BIGINT), 0) * CASE
    WHEN currency IN ('CLP', 'ISK', 'JPY', 'KRW', 'VND') THEN 1000 WHEN currency IN ('BHD', 'JOD', 'KWD', 'OMR', 'TND') THEN 1 ELSE 10 END;
CREATE INDEX invoices_created ON invoices(created_at, id);
CREATE INDEX invoices_total ON invoices(total_milli, id);

ALTER TABLE swap_orders ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE swap_orders ADD COLUMN total_milli BIGINT NOT NULL DEFAULT -1;
UPDATE swap_orders SET currency = COALESCE(json(data) ->> 'currency', '');
UPDATE swap_orders SET total_milli = CAST(json(data) ->> 'total_minor' AS BIGINT) * CASE
        WHEN currency IN ('CLP', 'ISK', 'JPY', 'KRW', 'VND') THEN 1000 WHEN currency IN ('BHD', 'JOD', 'KWD', 'OMR', 'TND') THEN 1 ELSE 10 END
    WHERE json(data) ->> 'total_minor' IS NOT NULL;

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
ALTER TABLE swap_orders DROP COLUMN total_milli;
ALTER TABLE swap_orders DROP COLUMN currency;
DROP INDEX invoices_total;
DROP INDEX invoices_created;
ALTER TABLE invoices DROP COLUMN total_milli;
ALTER TABLE invoices DROP COLUMN currency;
DROP INDEX cdrs_tariff;
DROP INDEX cdrs_station;
DROP INDEX cdrs_total;
DROP INDEX cdrs_created;
ALTER TABLE cdrs DROP COLUMN total_milli;
ALTER TABLE cdrs DROP COLUMN currency;
ALTER TABLE cdrs DROP COLUMN tariff_id;
DROP INDEX sessions_status_id;
DROP INDEX sessions_tariff;
DROP INDEX sessions_discharge;
DROP INDEX sessions_vehicle;
DROP INDEX sessions_cost;
DROP INDEX sessions_stopped;
DROP INDEX sessions_started;
CREATE INDEX sessions_started ON sessions(created_at);
ALTER TABLE sessions DROP COLUMN stopped_at;
ALTER TABLE sessions DROP COLUMN cost_milli;
ALTER TABLE sessions DROP COLUMN currency;
ALTER TABLE sessions DROP COLUMN tariff_id;
ALTER TABLE sessions DROP COLUMN vehicle_id;
