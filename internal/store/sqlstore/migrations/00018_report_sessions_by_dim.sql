-- +goose Up
-- Purchaser and vehicle reports are paged by dimension value (a year has about as many
-- purchaser rows as sessions). These covering indexes let a page walk the values in order,
-- reading only its own purchasers' (vehicles') sessions in the range.
CREATE INDEX report_sessions_account ON report_sessions(account_id, bucket, site_id, station_id, currency,
    energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w);
CREATE INDEX report_sessions_vehicle ON report_sessions(vehicle_id, bucket, site_id, station_id, currency,
    energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w);

-- +goose Down
DROP INDEX report_sessions_vehicle;
DROP INDEX report_sessions_account;
