-- +goose Up
-- A running balance per account, kept by every posting in the same transaction: reading a
-- balance no longer sums an ever-growing list of entries, and the row is the account's lock.
-- The ledger check proves every row equals the sum of the account's entries.
CREATE TABLE account_balances (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    balance BIGINT NOT NULL
);
-- System accounts (ids "sys_…") take part in nearly every posting and keep no row: their
-- balance is summed when asked.
INSERT INTO account_balances (account_id, balance)
    SELECT account_id, SUM(amount) FROM ledger_entries WHERE account_id NOT LIKE 'sys\_%' ESCAPE '\' GROUP BY account_id;

-- +goose Down
DROP TABLE account_balances;
