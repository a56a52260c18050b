-- +goose Up
-- Settlements join the tables with a version row (sqlstore/mdcache.go): every session end asks
-- whether its station has a pending settlement, and the answer is kept per version instead of
-- a query each time (settlements are written rarely: a terminal's NotifySettlement).
INSERT INTO cache_versions (name, v) VALUES ('settlements', 0);

-- +goose Down
DELETE FROM cache_versions WHERE name = 'settlements';
