-- +goose Up
-- One version per table kept in the master-data cache (sqlstore/mdcache.go). A write to the
-- table bumps its row in the same transaction, so every process and node sharing the database
-- sees the change exactly when the data commits and drops what it has cached.
CREATE TABLE cache_versions (
    name TEXT PRIMARY KEY,
    v BIGINT NOT NULL
);
INSERT INTO cache_versions (name, v) VALUES
    ('stations', 0), ('sites', 0), ('evses', 0), ('accounts', 0), ('id_tokens', 0), ('users', 0),
    ('purchaser_groups', 0), ('tariffs', 0);

-- +goose Down
DROP TABLE cache_versions;
