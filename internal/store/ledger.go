package store

import (
	"context"

	"github.com/evcs/evcs/internal/account"
)

// Ledger is the double-entry prepaid ledger inside a transaction.
type Ledger interface {
	// Post records a ledger transaction and its entries. A transaction whose idempotency key
	// was posted before is not posted again: Post returns the stored one and posted=false.
	Post(ctx context.Context, t *account.LedgerTx) (stored *account.LedgerTx, posted bool, err error)
	// Lock serialises postings to an account until the transaction ends (a row lock on
	// PostgreSQL; SQLite has one writer).
	Lock(ctx context.Context, accountID string) error
	// ByKey returns the transaction posted with an idempotency key.
	ByKey(ctx context.Context, idemKey string) (*account.LedgerTx, error)
	// ByRef returns the transactions posted about a reference (a session, a top-up), oldest
	// first, with their entries.
	ByRef(ctx context.Context, ref string) ([]account.LedgerTx, error)
	// Entries lists an account's entries, newest first, paged by cursor.
	Entries(ctx context.Context, accountID string, q Query) ([]account.LedgerEntry, string, error)
	// Transactions lists ledger transactions by filter (kind, account_id, ref), newest first.
	Transactions(ctx context.Context, q Query) ([]account.LedgerTx, string, error)
	// Check proves the ledger: every transaction sums to zero per currency and the sum of all
	// entries is zero. It returns the offending transaction ids, if any. (That each account's
	// running balance equals the sum of its entries is app.CheckLedger's per-account check.)
	Check(ctx context.Context) ([]string, error)
}
