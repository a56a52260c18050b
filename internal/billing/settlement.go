package billing

import "time"

// Settlement outcomes: how a payment-terminal settlement compares with the session it names.
const (
	SettlementMatched       = "matched"        // the amount is the session's rated cost
	SettlementAmountDiffers = "amount_differs" // a rated session, another amount (DifferenceMinor)
	SettlementPending       = "pending"        // no rated session yet: reconciled when it ends
	SettlementNotSettled    = "not_settled"    // the terminal reports Canceled, Rejected or Failed
	SettlementNoTransaction = "no_transaction" // the settlement names no transaction
)

// Settlement is a payment a station's terminal reports (OCPP 2.1 NotifySettlement): recorded as
// received, then reconciled against the session whose transaction it names.
type Settlement struct {
	ID            string    `json:"id"`
	StationID     string    `json:"station_id"`
	TransactionID string    `json:"transaction_id,omitempty"`
	PspRef        string    `json:"psp_ref"`
	PaymentStatus string    `json:"payment_status" doc:"Settled, Canceled, Rejected or Failed, as the station reported"`
	StatusInfo    string    `json:"status_info,omitempty"`
	Amount        string    `json:"amount" doc:"settlementAmount as the station sent it (a decimal)"`
	SettledAt     time.Time `json:"settled_at"`
	ReceiptID     string    `json:"receipt_id,omitempty"`
	ReceiptURL    string    `json:"receipt_url,omitempty"`
	VATNumber     string    `json:"vat_number,omitempty"`
	// Reconciliation.
	SessionID       string     `json:"session_id,omitempty"`
	Currency        string     `json:"currency,omitempty"`
	AmountMinor     int64      `json:"amount_minor,omitempty"`
	CostMinor       *int64     `json:"cost_minor,omitempty" doc:"the session's rated cost less what earlier settlements of it paid"`
	DifferenceMinor int64      `json:"difference_minor,omitempty" doc:"amount − cost"`
	Outcome         string     `json:"outcome"`
	ReconciledAt    *time.Time `json:"reconciled_at,omitempty"`
	LedgerTxID      string     `json:"ledger_tx_id,omitempty" doc:"the posting terminal ← cash, once settled against a terminal-paid session"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}
