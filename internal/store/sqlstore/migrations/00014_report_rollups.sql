-- +goose Up
-- Report rollups: sums per UTC hour (grain 0), UTC day (grain 1), UTC calendar month
-- (grain 2) and ISO week (grain 3, Monday to Monday UTC) at three levels, kept up to date in the transaction that ends a session (or posts
-- a top-up), so a report reads a few thousand summary rows instead of a row per session or
-- reading. A report cut in local days, weeks or months reads months, weeks and days that lie in
-- one of its periods whole, and the rest from smaller rows (see report.Periods.Plan).
--
-- lvl: 0 = everything (dim is a stripe '0'…'3' picked by the session or top-up id, so
-- concurrent writers do not all wait for one row; readers add the stripes up), 1 = per site
-- (dim = site id), 2 = per station (dim = station id), 3 = per purchaser account (top-ups).
-- Rows are only ever added to: ended sessions and top-ups are not rewritten (a correction is a
-- refund, which reports do not count as negative revenue).
CREATE TABLE report_session_sums (
    grain SMALLINT NOT NULL,
    lvl SMALLINT NOT NULL,
    dim TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    tariff_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    site_id TEXT NOT NULL,
    sessions BIGINT NOT NULL,
    energy_wh BIGINT NOT NULL,
    exported_wh BIGINT NOT NULL,
    revenue_excl_minor BIGINT NOT NULL,
    revenue_incl_minor BIGINT NOT NULL,
    duration_s BIGINT NOT NULL,
    power_w BIGINT NOT NULL,
    PRIMARY KEY (grain, lvl, dim, bucket, tariff_id, currency)
);
-- Covering: a report's range scan reads every column it sums from the index.
CREATE INDEX report_session_sums_range ON report_session_sums(grain, lvl, bucket, dim, site_id, tariff_id, currency,
    sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w);

-- Occupied seconds and energy spread over the hours a session ran (utilisation, peak load).
-- Day, month and week rows also keep their highest hourly energy at their level and its hour (the earliest
-- on a tie): energy is only ever added, so the running maximum stays exact.
CREATE TABLE report_occupancy (
    grain SMALLINT NOT NULL,
    lvl SMALLINT NOT NULL,
    dim TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    site_id TEXT NOT NULL,
    occupied_s BIGINT NOT NULL,
    wh BIGINT NOT NULL,
    peak_wh BIGINT NOT NULL,
    peak_at BIGINT NOT NULL,
    PRIMARY KEY (grain, lvl, dim, bucket)
);
CREATE INDEX report_occupancy_range ON report_occupancy(grain, lvl, bucket, dim, site_id, occupied_s, wh, peak_wh, peak_at);

CREATE TABLE report_topup_sums (
    grain SMALLINT NOT NULL,
    lvl SMALLINT NOT NULL,
    dim TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    currency TEXT NOT NULL,
    topups BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (grain, lvl, dim, bucket, currency)
);
CREATE INDEX report_topup_sums_range ON report_topup_sums(grain, lvl, bucket, dim, currency, topups, amount_minor);

-- Purchaser and vehicle reports still read a row per session (a purchaser has a session or
-- two a day): one covering index serves them, with the site and station filters.
DROP INDEX report_sessions_bucket;
DROP INDEX report_sessions_site;
DROP INDEX report_sessions_station;
CREATE INDEX report_sessions_cover ON report_sessions(bucket, account_id, vehicle_id, site_id, station_id, currency,
    energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w);

-- Back-fill from the summaries 00009 kept.
INSERT INTO report_session_sums (grain, lvl, dim, bucket, tariff_id, currency, site_id, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w)
SELECT g.grain, 2, f.station_id, f.bucket / g.width * g.width, f.tariff_id, f.currency, MAX(f.site_id), COUNT(*),
    CAST(SUM(f.energy_wh) AS BIGINT), CAST(SUM(f.exported_wh) AS BIGINT), CAST(SUM(f.revenue_excl_minor) AS BIGINT),
    CAST(SUM(f.revenue_incl_minor) AS BIGINT), CAST(SUM(f.duration_s) AS BIGINT), CAST(SUM(f.power_w) AS BIGINT)
FROM report_sessions f CROSS JOIN (SELECT 0 AS grain, CAST(3600000000 AS BIGINT) AS width UNION ALL SELECT 1, CAST(86400000000 AS BIGINT)) g
GROUP BY g.grain, f.station_id, f.bucket / g.width * g.width, f.tariff_id, f.currency;

INSERT INTO report_session_sums (grain, lvl, dim, bucket, tariff_id, currency, site_id, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w)
SELECT grain, 1, site_id, bucket, tariff_id, currency, site_id, CAST(SUM(sessions) AS BIGINT), CAST(SUM(energy_wh) AS BIGINT),
    CAST(SUM(exported_wh) AS BIGINT), CAST(SUM(revenue_excl_minor) AS BIGINT), CAST(SUM(revenue_incl_minor) AS BIGINT),
    CAST(SUM(duration_s) AS BIGINT), CAST(SUM(power_w) AS BIGINT)
FROM report_session_sums WHERE lvl = 2 GROUP BY grain, site_id, bucket, tariff_id, currency;

INSERT INTO report_session_sums (grain, lvl, dim, bucket, tariff_id, currency, site_id, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w)
SELECT grain, 0, '0', bucket, tariff_id, currency, '', CAST(SUM(sessions) AS BIGINT), CAST(SUM(energy_wh) AS BIGINT),
    CAST(SUM(exported_wh) AS BIGINT), CAST(SUM(revenue_excl_minor) AS BIGINT), CAST(SUM(revenue_incl_minor) AS BIGINT),
    CAST(SUM(duration_s) AS BIGINT), CAST(SUM(power_w) AS BIGINT)
FROM report_session_sums WHERE lvl = 1 GROUP BY grain, bucket, tariff_id, currency;

-- Month rows from the day rows: the first day of a day's month is found with the civil-from-days
-- arithmetic (H. Hinnant), in integers both engines share.
INSERT INTO report_session_sums (grain, lvl, dim, bucket, tariff_id, currency, site_id, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w)
SELECT 2, lvl, dim, mday * 86400000000, tariff_id, currency, MAX(site_id), CAST(SUM(sessions) AS BIGINT), CAST(SUM(energy_wh) AS BIGINT),
    CAST(SUM(exported_wh) AS BIGINT), CAST(SUM(revenue_excl_minor) AS BIGINT), CAST(SUM(revenue_incl_minor) AS BIGINT),
    CAST(SUM(duration_s) AS BIGINT), CAST(SUM(power_w) AS BIGINT)
FROM (SELECT e.*, z - (doy - (153 * ((5 * doy + 2) / 153) + 2) / 5) AS mday FROM
    (SELECT d.*, doe - (365 * yoe + yoe / 4 - yoe / 100) AS doy FROM
    (SELECT c.*, (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 AS yoe FROM
    (SELECT b.*, (z + 719468) % 146097 AS doe FROM
    (SELECT a.*, bucket / 86400000000 AS z FROM report_session_sums a WHERE grain = 1) b) c) d) e) m
GROUP BY lvl, dim, mday, tariff_id, currency;
-- Week rows from the day rows: day 0 (1970-01-01) was a Thursday.
INSERT INTO report_session_sums (grain, lvl, dim, bucket, tariff_id, currency, site_id, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w)
SELECT 3, lvl, dim, wday * 86400000000, tariff_id, currency, MAX(site_id), CAST(SUM(sessions) AS BIGINT), CAST(SUM(energy_wh) AS BIGINT),
    CAST(SUM(exported_wh) AS BIGINT), CAST(SUM(revenue_excl_minor) AS BIGINT), CAST(SUM(revenue_incl_minor) AS BIGINT),
    CAST(SUM(duration_s) AS BIGINT), CAST(SUM(power_w) AS BIGINT)
FROM (SELECT a.*, bucket / 86400000000 - (bucket / 86400000000 + 3) % 7 AS wday FROM report_session_sums a WHERE grain = 1) w
GROUP BY lvl, dim, wday, tariff_id, currency;

INSERT INTO report_occupancy (grain, lvl, dim, bucket, site_id, occupied_s, wh, peak_wh, peak_at)
SELECT 0, 2, station_id, bucket, site_id, occupied_s, wh, 0, 0 FROM report_station_hours;
INSERT INTO report_occupancy (grain, lvl, dim, bucket, site_id, occupied_s, wh, peak_wh, peak_at)
SELECT 0, 1, site_id, bucket, site_id, CAST(SUM(occupied_s) AS BIGINT), CAST(SUM(wh) AS BIGINT), 0, 0
FROM report_occupancy WHERE grain = 0 AND lvl = 2 GROUP BY site_id, bucket;
INSERT INTO report_occupancy (grain, lvl, dim, bucket, site_id, occupied_s, wh, peak_wh, peak_at)
SELECT 0, 0, '0', bucket, '', CAST(SUM(occupied_s) AS BIGINT), CAST(SUM(wh) AS BIGINT), 0, 0
FROM report_occupancy WHERE grain = 0 AND lvl = 1 GROUP BY bucket;
INSERT INTO report_occupancy (grain, lvl, dim, bucket, site_id, occupied_s, wh, peak_wh, peak_at)
SELECT 1, lvl, dim, bucket / 86400000000 * 86400000000, MAX(site_id), CAST(SUM(occupied_s) AS BIGINT), CAST(SUM(wh) AS BIGINT), MAX(wh), 0
FROM report_occupancy WHERE grain = 0 GROUP BY lvl, dim, bucket / 86400000000 * 86400000000;
UPDATE report_occupancy SET peak_at = (SELECT MIN(h.bucket) FROM report_occupancy h
    WHERE h.grain = 0 AND h.lvl = report_occupancy.lvl AND h.dim = report_occupancy.dim
    AND h.bucket >= report_occupancy.bucket AND h.bucket < report_occupancy.bucket + 86400000000 AND h.wh = report_occupancy.peak_wh)
WHERE grain = 1;
INSERT INTO report_occupancy (grain, lvl, dim, bucket, site_id, occupied_s, wh, peak_wh, peak_at)
SELECT 2, lvl, dim, mday * 86400000000, MAX(site_id), CAST(SUM(occupied_s) AS BIGINT), CAST(SUM(wh) AS BIGINT), MAX(peak_wh), 0
FROM (SELECT e.*, z - (doy - (153 * ((5 * doy + 2) / 153) + 2) / 5) AS mday FROM
    (SELECT d.*, doe - (365 * yoe + yoe / 4 - yoe / 100) AS doy FROM
    (SELECT c.*, (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 AS yoe FROM
    (SELECT b.*, (z + 719468) % 146097 AS doe FROM
    (SELECT a.*, bucket / 86400000000 AS z FROM report_occupancy a WHERE grain = 1) b) c) d) e) m
GROUP BY lvl, dim, mday;
INSERT INTO report_occupancy (grain, lvl, dim, bucket, site_id, occupied_s, wh, peak_wh, peak_at)
SELECT 3, lvl, dim, wday * 86400000000, MAX(site_id), CAST(SUM(occupied_s) AS BIGINT), CAST(SUM(wh) AS BIGINT), MAX(peak_wh), 0
FROM (SELECT a.*, bucket / 86400000000 - (bucket / 86400000000 + 3) % 7 AS wday FROM report_occupancy a WHERE grain = 1) w
GROUP BY lvl, dim, wday;
-- A month's or week's peak hour: the earliest peak among its days with its peak; its days are
-- those from its start to the next row of its grain, level and dimension.
UPDATE report_occupancy SET peak_at = (SELECT MIN(d.peak_at) FROM report_occupancy d
    WHERE d.grain = 1 AND d.lvl = report_occupancy.lvl AND d.dim = report_occupancy.dim AND d.bucket >= report_occupancy.bucket
    AND d.bucket < COALESCE((SELECT MIN(n.bucket) FROM report_occupancy n WHERE n.grain = report_occupancy.grain AND n.lvl = report_occupancy.lvl
        AND n.dim = report_occupancy.dim AND n.bucket > report_occupancy.bucket), 9000000000000000000)
    AND d.peak_wh = report_occupancy.peak_wh)
WHERE grain IN (2, 3);

INSERT INTO report_topup_sums (grain, lvl, dim, bucket, currency, topups, amount_minor)
SELECT g.grain, 3, e.account_id, t.created_at / g.width * g.width, e.currency, COUNT(*), CAST(SUM(e.amount) AS BIGINT)
FROM ledger_transactions t JOIN ledger_entries e ON e.tx_id = t.id
    CROSS JOIN (SELECT 0 AS grain, CAST(3600000000 AS BIGINT) AS width UNION ALL SELECT 1, CAST(86400000000 AS BIGINT)) g
WHERE t.kind = 'topup' AND e.amount > 0
GROUP BY g.grain, e.account_id, t.created_at / g.width * g.width, e.currency;
INSERT INTO report_topup_sums (grain, lvl, dim, bucket, currency, topups, amount_minor)
SELECT grain, 0, '0', bucket, currency, CAST(SUM(topups) AS BIGINT), CAST(SUM(amount_minor) AS BIGINT)
FROM report_topup_sums WHERE lvl = 3 GROUP BY grain, bucket, currency;
INSERT INTO report_topup_sums (grain, lvl, dim, bucket, currency, topups, amount_minor)
SELECT 2, lvl, dim, mday * 86400000000, currency, CAST(SUM(topups) AS BIGINT), CAST(SUM(amount_minor) AS BIGINT)
FROM (SELECT e.*, z - (doy - (153 * ((5 * doy + 2) / 153) + 2) / 5) AS mday FROM
    (SELECT d.*, doe - (365 * yoe + yoe / 4 - yoe / 100) AS doy FROM
    (SELECT c.*, (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 AS yoe FROM
    (SELECT b.*, (z + 719468) % 146097 AS doe FROM
    (SELECT a.*, bucket / 86400000000 AS z FROM report_topup_sums a WHERE grain = 1) b) c) d) e) m
GROUP BY lvl, dim, mday, currency;
INSERT INTO report_topup_sums (grain, lvl, dim, bucket, currency, topups, amount_minor)
SELECT 3, lvl, dim, wday * 86400000000, currency, CAST(SUM(topups) AS BIGINT), CAST(SUM(amount_minor) AS BIGINT)
FROM (SELECT a.*, bucket / 86400000000 - (bucket / 86400000000 + 3) % 7 AS wday FROM report_topup_sums a WHERE grain = 1) w
GROUP BY lvl, dim, wday, currency;

DROP TABLE report_station_hours;

-- +goose Down
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
INSERT INTO report_station_hours (station_id, bucket, site_id, occupied_s, wh)
SELECT dim, bucket, site_id, occupied_s, wh FROM report_occupancy WHERE grain = 0 AND lvl = 2;
DROP INDEX report_sessions_cover;
CREATE INDEX report_sessions_bucket ON report_sessions(bucket);
CREATE INDEX report_sessions_site ON report_sessions(site_id, bucket);
CREATE INDEX report_sessions_station ON report_sessions(station_id, bucket);
DROP TABLE report_topup_sums;
DROP TABLE report_occupancy;
DROP TABLE report_session_sums;
