-- +goose Up
-- The charging plan of each swap station's slots (the latest only): the scheduler writes it on
-- the node that runs it, and every node's load manager reads it to count the batteries that
-- charge in the site's cabinets. id is the station id.
CREATE TABLE swap_plans (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    site_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX swap_plans_site ON swap_plans(site_id);

-- +goose Down
DROP TABLE swap_plans;
