-- +goose Up
-- Billing: ledger transactions get the columns they are looked up by; tariffs are stored as
-- their OCPI body, one row per version (a session is rated by the version in force at its start).
ALTER TABLE ledger_transactions ADD COLUMN ref TEXT NOT NULL DEFAULT '';
CREATE INDEX ledger_transactions_ref ON ledger_transactions(ref);
CREATE INDEX ledger_entries_tx ON ledger_entries(tx_id);

CREATE TABLE tariffs (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    currency TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (id, version)
);

-- +goose Down
DROP TABLE tariffs;
DROP INDEX ledger_entries_tx;
DROP INDEX ledger_transactions_ref;
ALTER TABLE ledger_transactions DROP COLUMN ref;
