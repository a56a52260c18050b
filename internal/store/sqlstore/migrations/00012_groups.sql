-- +goose Up
-- Purchaser groups: a fleet or a company whose members share a tariff.
CREATE TABLE purchaser_groups (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    name TEXT NOT NULL,
    tariff_id TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);

-- +goose Down
DROP TABLE purchaser_groups;
