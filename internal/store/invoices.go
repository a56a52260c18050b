package store

import (
	"context"

	"github.com/evcs/evcs/internal/billing"
)

// Invoices stores the billing documents: issued invoices and credit notes (immutable: there
// is no update), and the settlements payment terminals report (reconciled, so updatable).
type Invoices interface {
	// Issue stores an issued invoice or credit note. A second document of the same account,
	// period and kind, or a number used before, is refused with errs Conflict.
	Issue(ctx context.Context, inv *billing.Invoice) error
	// Get returns an invoice by id.
	Get(ctx context.Context, id string) (*billing.Invoice, error)
	// Find returns the document of an account, period and kind (errs NotFound if none).
	Find(ctx context.Context, accountID, period, kind string) (*billing.Invoice, error)
	// List pages invoices in id order (filters: account_id, period, kind, series, number).
	List(ctx context.Context, q Query) ([]billing.Invoice, string, error)

	// AddSettlement records a settlement; the same station, PSP reference and payment status
	// again is refused with errs Conflict.
	AddSettlement(ctx context.Context, s *billing.Settlement) error
	// UpdateSettlement stores a settlement's reconciliation.
	UpdateSettlement(ctx context.Context, s *billing.Settlement) error
	// Settlement returns one settlement.
	Settlement(ctx context.Context, id string) (*billing.Settlement, error)
	// Settlements pages settlements in id order (filters: station_id, session_id,
	// transaction_id, psp_ref, outcome, payment_status).
	Settlements(ctx context.Context, q Query) ([]billing.Settlement, string, error)
	// HasPendingSettlements reports whether a station has a settlement still pending (every
	// session end asks; the answer is exact, as the master-data cache is).
	HasPendingSettlements(ctx context.Context, stationID string) (bool, error)
}
