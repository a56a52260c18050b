package app

// On-site payment without an account.
//
// OCPP 2.1 stations with a payment terminal report each card payment with NotifySettlement.
// RecordSettlement keeps it as a Settlement (billing.Settlement) and reconciles it, in the same
// transaction, with the session whose transaction it names (transactionId, at that station):
//
//	matched         the session is rated and the amount is its cost (CDR total, less what
//	                earlier settlements of the session paid)
//	amount_differs  the session is rated and the amount is not that (difference_minor =
//	                amount − cost; a second payment for a paid session shows here); nothing is
//	                corrected automatically
//	pending         no rated session yet (unknown transaction, or not ended): reconciled when
//	                the session ends (SettlementsOnSessionEnd, a SessionEnded hook) or by
//	                ReconcileSettlements
//	not_settled     the terminal reports Canceled, Rejected or Failed: kept, never matched
//	no_transaction  the settlement names no transaction: kept for the operator
//
// The same settlement again (station, pspRef and status) is not recorded twice. settlementAmount
// is in the session's currency (OCPP sends no currency); more fraction digits than the currency
// has (a float's noise) are rounded half-up once.
//
// Terminal-paid sessions (OCPP 1.6 and 2.0.1 too). Id tokens of a terminal account
// (sys_terminal_<CUR>, see EnsureTerminalAccount) are the pre-authorised tokens of payment
// terminals: a station whose terminal has approved a card starts the session with such a token.
// The session is authorised like any other (the terminal account has a credit limit large
// enough never to refuse), rated normally, and its cost is captured from the terminal account
// into revenue when it ends: the terminal account's negative balance is what the payment
// provider owes the operator. A matched or differing Settled settlement of such a session posts
// its amount cash → terminal account (key "settlement:<id>"), so the terminal account returns
// to zero once every terminal session is settled at its cost. Receipts and CDRs show payment
// method "terminal" (PaymentMethod). Such sessions are rated by an AD_HOC_PAYMENT tariff: put
// it on the terminal tokens (tariff_id: the driver tariff overrides EVSE, station and site
// tariffs), or on a station that takes only terminal payments.

import (
	"context"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// SysTerminal is the kind of the terminal system account of a currency: sys_terminal_EUR.
const SysTerminal = "terminal"

// LedgerSettlement is the kind of the posting of a terminal settlement.
const LedgerSettlement = "settlement"

// Payment methods of a session.
const (
	PaymentPrepaid  = "prepaid"
	PaymentTerminal = "terminal"
)

// terminalCreditLimit lets a terminal account authorise any session: its balance is what
// payment providers owe, not money a driver has.
const terminalCreditLimit int64 = 1_000_000_000_000_000

// TerminalAccountID is the id of the terminal account of a currency.
func TerminalAccountID(currency string) string { return SystemAccountID(SysTerminal, currency) }

// IsTerminalAccount reports whether an account id is a terminal account.
func IsTerminalAccount(id string) bool { return strings.HasPrefix(id, "sys_"+SysTerminal+"_") }

// PaymentMethod is how a session charged to accountID is paid: "terminal" for a terminal
// account, "prepaid" for a purchaser's account, "" for none.
func PaymentMethod(accountID string) string {
	switch {
	case accountID == "":
		return ""
	case IsTerminalAccount(accountID):
		return PaymentTerminal
	}
	return PaymentPrepaid
}

// EnsureTerminalAccount returns the terminal account of a currency, creating it (operator).
// Bind terminals' pre-authorised id tokens to it.
func (a *App) EnsureTerminalAccount(ctx context.Context, currency string) (*account.Account, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap("terminal account", err)
	}
	if err := money.CheckCurrency("currency", currency); err != nil {
		return nil, errs.Wrap("terminal account", err)
	}
	id := TerminalAccountID(currency)
	var out *account.Account
	err := a.ledgerTx(ctx, func(tx store.Tx) error {
		acc, err := tx.Accounts().Get(ctx, id)
		if err == nil {
			out = acc
			return nil
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		now := a.now()
		out = &account.Account{ID: id, Currency: currency, CreditLimit: terminalCreditLimit, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		if err := tx.Accounts().Create(ctx, out); err != nil {
			return err
		}
		return a.record(ctx, tx, "create", "account", id, nil, out)
	})
	return out, errs.Wrap("terminal account", err)
}

// SettlementInput is an OCPP 2.1 NotifySettlement, version-neutral.
type SettlementInput struct {
	StationID     string
	TransactionID string
	PspRef        string
	Status        string // Settled, Canceled, Rejected, Failed
	StatusInfo    string
	Amount        string // decimal text of settlementAmount
	At            time.Time
	ReceiptID     string
	ReceiptURL    string
	VATNumber     string
}

// RecordSettlement records a terminal's settlement and reconciles it with its session. The
// same settlement again returns the first.
func (a *App) RecordSettlement(ctx context.Context, in SettlementInput) (*billing.Settlement, error) {
	if in.PspRef == "" {
		return nil, errs.Wrap("settlement", errs.Field("pspRef", "is required"))
	}
	if _, err := decimal.Parse(in.Amount); err != nil {
		return nil, errs.Wrap("settlement", errs.Field("settlementAmount", "%q is not a decimal", in.Amount))
	}
	var out *billing.Settlement
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		out = nil
		if first, err := a.findSettlement(ctx, tx, in); err != nil || first != nil {
			out = first
			return err
		}
		now := a.now()
		st := &billing.Settlement{ID: ids.New("stl"), StationID: in.StationID, TransactionID: in.TransactionID, PspRef: in.PspRef,
			PaymentStatus: in.Status, StatusInfo: in.StatusInfo, Amount: in.Amount, SettledAt: in.At.UTC(), ReceiptID: in.ReceiptID,
			ReceiptURL: in.ReceiptURL, VATNumber: in.VATNumber, Outcome: billing.SettlementPending, CreatedAt: now, UpdatedAt: now}
		if err := a.reconcile(ctx, tx, st); err != nil {
			return err
		}
		out = st
		return tx.Invoices().AddSettlement(ctx, st)
	})
	if errs.Is(err, errs.Conflict) { // recorded by a concurrent delivery of the same message
		err = a.Store.View(ctx, func(tx store.Tx) (err error) { out, err = a.findSettlement(ctx, tx, in); return })
	}
	if err != nil {
		return nil, errs.Wrap("settlement", err)
	}
	a.Bus.Publish(Event{Kind: "settlement." + out.Outcome, StationID: in.StationID, Data: out})
	return out, nil
}

func (a *App) findSettlement(ctx context.Context, tx store.Tx, in SettlementInput) (*billing.Settlement, error) {
	items, _, err := tx.Invoices().Settlements(ctx, store.Query{Filter: map[string]string{"station_id": in.StationID, "psp_ref": in.PspRef,
		"payment_status": in.Status}, Limit: 1})
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return &items[0], nil
}

// reconcile compares a pending settlement with its session and sets its outcome; a settled
// outcome of a terminal-paid session posts the money received. It fails only on store errors.
func (a *App) reconcile(ctx context.Context, tx store.Tx, st *billing.Settlement) error {
	if st.Outcome != billing.SettlementPending {
		return nil
	}
	now := a.now()
	if st.TransactionID == "" {
		st.Outcome, st.ReconciledAt = billing.SettlementNoTransaction, &now
		return nil
	}
	s, err := findSession(ctx, tx, st.StationID, st.TransactionID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	if s != nil {
		st.SessionID = s.ID
	}
	if st.PaymentStatus != "Settled" {
		st.Outcome, st.ReconciledAt = billing.SettlementNotSettled, &now
		return nil
	}
	if s == nil {
		return nil // pending: the session may not have started yet as far as EVCS knows
	}
	if s.CDRID == "" || s.Currency == "" {
		return nil // pending until the session ends and is rated
	}
	rec, err := tx.CDRs().Get(ctx, s.CDRID)
	if err != nil {
		return err
	}
	d, err := decimal.Parse(st.Amount)
	if err != nil {
		return nil // checked when recorded
	}
	amt, err := money.FromDecimal(d, rec.Currency)
	if err != nil {
		return nil
	}
	// Compare with what is still unsettled: a second card payment for one session is a difference.
	cost := rec.TotalMinor
	earlier, _, err := tx.Invoices().Settlements(ctx, store.Query{Filter: map[string]string{"session_id": s.ID, "payment_status": "Settled"}, Limit: 500})
	if err != nil {
		return err
	}
	for _, e := range earlier {
		if e.ID != st.ID && (e.Outcome == billing.SettlementMatched || e.Outcome == billing.SettlementAmountDiffers) {
			cost -= e.AmountMinor
		}
	}
	st.Currency, st.AmountMinor, st.CostMinor, st.DifferenceMinor = rec.Currency, amt.Minor, &cost, amt.Minor-cost
	st.Outcome, st.ReconciledAt, st.UpdatedAt = billing.SettlementMatched, &now, now
	if st.DifferenceMinor != 0 {
		st.Outcome = billing.SettlementAmountDiffers
		a.Log.Warn("terminal settlement differs from the session's cost", "settlement", st.ID, "session", s.ID,
			"amount_minor", amt.Minor, "cost_minor", cost, "currency", rec.Currency)
	}
	if IsTerminalAccount(s.AccountID) && amt.Minor > 0 {
		cash, err := a.SystemAccount(ctx, tx, SysCash, rec.Currency)
		if err != nil {
			return err
		}
		lt := &account.LedgerTx{IdemKey: "settlement:" + st.ID, Kind: LedgerSettlement, Ref: s.ID, Memo: "terminal settlement " + st.PspRef}
		posted, err := a.post(ctx, tx, lt, rec.Currency, leg{cash, -amt.Minor}, leg{s.AccountID, amt.Minor})
		if err != nil {
			return err
		}
		st.LedgerTxID = posted.ID
	}
	return nil
}

// SettlementsOnSessionEnd reconciles the pending settlements of a session that just ended. It
// is a SessionEnded hook: wire it with
//
//	a.SessionEnded = append(a.SessionEnded, a.SettlementsOnSessionEnd)
func (a *App) SettlementsOnSessionEnd(ctx context.Context, tx store.Tx, s *charging.Session) error {
	if s.TxRef == "" {
		return nil
	}
	if has, err := tx.Invoices().HasPendingSettlements(ctx, s.StationID); err != nil || !has {
		return err
	}
	items, _, err := tx.Invoices().Settlements(ctx, store.Query{Filter: map[string]string{"station_id": s.StationID,
		"transaction_id": s.TxRef, "outcome": billing.SettlementPending}, Limit: 100})
	if err != nil {
		return err
	}
	for i := range items {
		if err := a.reconcile(ctx, tx, &items[i]); err != nil {
			return err
		}
		if items[i].Outcome != billing.SettlementPending {
			if err := tx.Invoices().UpdateSettlement(ctx, &items[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReconcileSettlements reconciles pending settlements again (operator): those of one session
// when sessionID is given, else all. It returns the settlements whose outcome changed.
func (a *App) ReconcileSettlements(ctx context.Context, sessionID string) ([]billing.Settlement, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap("reconcile settlements", err)
	}
	var out []billing.Settlement
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		out = nil
		q := store.Query{Filter: map[string]string{"outcome": billing.SettlementPending}, Limit: 500}
		if sessionID != "" {
			s, err := tx.Sessions().Get(ctx, sessionID)
			if err != nil {
				return err
			}
			q.Filter["station_id"], q.Filter["transaction_id"] = s.StationID, s.TxRef
		}
		for {
			items, next, err := tx.Invoices().Settlements(ctx, q)
			if err != nil {
				return err
			}
			for i := range items {
				if err := a.reconcile(ctx, tx, &items[i]); err != nil {
					return err
				}
				if items[i].Outcome == billing.SettlementPending {
					continue
				}
				if err := tx.Invoices().UpdateSettlement(ctx, &items[i]); err != nil {
					return err
				}
				out = append(out, items[i])
			}
			if next == "" {
				return nil
			}
			q.Cursor = next
		}
	})
	return out, errs.Wrap("reconcile settlements", err)
}

// Settlements lists settlements (filters: station_id, session_id, transaction_id, psp_ref,
// outcome, payment_status).
func (a *App) Settlements(ctx context.Context, q store.Query) ([]billing.Settlement, string, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("list settlements", err)
	}
	var out []billing.Settlement
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, next, err = tx.Invoices().Settlements(ctx, q); return })
	return out, next, errs.Wrap("list settlements", err)
}
