-- +goose Up
-- Master data: each table keeps the record as a JSON document in `data` (the API shape) plus
-- the columns that are filtered, joined or constrained on. Times are Unix microseconds (UTC).
-- The same DDL runs on SQLite and PostgreSQL.
CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    default_tariff_id TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites(id),
    parent_id TEXT REFERENCES nodes(id),
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX nodes_site ON nodes(site_id);
CREATE TABLE stations (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites(id),
    node_id TEXT REFERENCES nodes(id),
    kind TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE INDEX stations_site ON stations(site_id);
CREATE TABLE evses (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    station_id TEXT NOT NULL REFERENCES stations(id),
    evse_no INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX evses_station_no ON evses(station_id, evse_no);
CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    evse_id TEXT NOT NULL REFERENCES evses(id),
    station_id TEXT NOT NULL REFERENCES stations(id),
    connector_no INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX connectors_evse_no ON connectors(evse_id, connector_no);
CREATE INDEX connectors_station ON connectors(station_id);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites(id),
    node_id TEXT REFERENCES nodes(id),
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE cabinets (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    station_id TEXT NOT NULL REFERENCES stations(id),
    data TEXT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    group_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users(email);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    user_id TEXT REFERENCES users(id),
    currency TEXT NOT NULL,
    credit_limit BIGINT NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX accounts_user ON accounts(user_id);
CREATE TABLE batteries (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    serial TEXT NOT NULL,
    battery_type TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '',
    cabinet_id TEXT REFERENCES cabinets(id),
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX batteries_serial ON batteries(serial);
CREATE TABLE id_tokens (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    uid TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    group_id TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX id_tokens_uid ON id_tokens(uid);
CREATE INDEX id_tokens_account ON id_tokens(account_id);
CREATE TABLE vehicles (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    vin TEXT NOT NULL DEFAULT '',
    plate TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX vehicles_vin ON vehicles(vin) WHERE vin <> '';
CREATE INDEX vehicles_owner ON vehicles(owner_id);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    secret TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX api_tokens_secret ON api_tokens(secret);
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX audit_entity ON audit_events(entity, entity_id);

-- The prepaid ledger: double entry. A transaction's entries sum to zero; an account's balance
-- is the sum of its entries. idem_key makes every posting idempotent.
CREATE TABLE ledger_transactions (
    id TEXT PRIMARY KEY,
    idem_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX ledger_transactions_idem ON ledger_transactions(idem_key);
CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    tx_id TEXT NOT NULL REFERENCES ledger_transactions(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries(account_id, created_at);

-- +goose Down
DROP TABLE ledger_entries;
DROP TABLE ledger_transactions;
DROP TABLE audit_events;
DROP TABLE api_tokens;
DROP TABLE vehicles;
DROP TABLE id_tokens;
DROP TABLE batteries;
DROP TABLE accounts;
DROP TABLE users;
DROP TABLE cabinets;
DROP TABLE devices;
DROP TABLE connectors;
DROP TABLE evses;
DROP TABLE stations;
DROP TABLE nodes;
DROP TABLE sites;
