-- +goose Up
-- Invoices and credit notes: issued once, never updated. One document per account, period and
-- kind (so running a period twice issues nothing new); numbers are unique.
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    series TEXT NOT NULL,
    number TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX invoices_account_period_kind ON invoices(account_id, period, kind);
CREATE UNIQUE INDEX invoices_number ON invoices(number);
CREATE INDEX invoices_period ON invoices(period);

-- Settlements reported by payment terminals (OCPP 2.1 NotifySettlement) and their
-- reconciliation with sessions.
CREATE TABLE settlements (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    station_id TEXT NOT NULL,
    session_id TEXT NOT NULL DEFAULT '',
    transaction_id TEXT NOT NULL DEFAULT '',
    psp_ref TEXT NOT NULL,
    payment_status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX settlements_psp ON settlements(station_id, psp_ref, payment_status);
CREATE INDEX settlements_session ON settlements(session_id);
CREATE INDEX settlements_tx ON settlements(station_id, transaction_id);
CREATE INDEX settlements_outcome ON settlements(outcome);

-- +goose Down
DROP TABLE settlements;
DROP TABLE invoices;
