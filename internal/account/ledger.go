package account

import (
	"encoding/json"
	"time"

	"github.com/evcs/evcs/internal/errs"
)

// LedgerTx is one balanced posting: its entries sum to zero per currency.
type LedgerTx struct {
	ID      string          `json:"id"`
	IdemKey string          `json:"idempotency_key"`
	Kind    string          `json:"kind"`          // topup, hold, capture, release, refund, adjustment, transfer, …
	Ref     string          `json:"ref,omitempty"` // what it is about: a session, a top-up, an invoice
	Memo    string          `json:"memo,omitempty"`
	Actor   string          `json:"actor,omitempty"`
	At      time.Time       `json:"at"`
	Entries []LedgerEntry   `json:"entries"`
	Extra   json.RawMessage `json:"extra,omitempty"`
}

// LedgerEntry moves Amount (minor units, signed) into an account.
type LedgerEntry struct {
	ID        string    `json:"id"`
	TxID      string    `json:"tx_id"`
	AccountID string    `json:"account_id"`
	Amount    int64     `json:"amount_minor"`
	Currency  string    `json:"currency"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind,omitempty"`
	Memo      string    `json:"memo,omitempty"`
}

// CheckBalanced validates a ledger transaction before it is posted: at least two entries,
// no zero amounts, and the entries sum to zero in each currency.
func CheckBalanced(t *LedgerTx) error {
	if t.IdemKey == "" {
		return errs.Field("idempotency_key", "is required")
	}
	if len(t.Entries) < 2 {
		return errs.E(errs.Invalid, "a ledger transaction needs two or more entries")
	}
	sums := map[string]int64{}
	for i, e := range t.Entries {
		if e.Amount == 0 {
			return errs.Field("entries["+itoa(i)+"].amount_minor", "must not be zero")
		}
		if e.AccountID == "" || e.Currency == "" {
			return errs.Field("entries["+itoa(i)+"]", "needs an account and a currency")
		}
		sums[e.Currency] += e.Amount
	}
	for cur, s := range sums {
		if s != 0 {
			return errs.E(errs.Invalid, "entries in %s sum to %d, not zero", cur, s)
		}
	}
	return nil
}
