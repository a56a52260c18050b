package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// InvoiceLineOut is one session on an invoice; amounts excl. VAT unless named otherwise.
type InvoiceLineOut struct {
	SessionID    string    `json:"session_id"`
	CDRID        string    `json:"cdr_id"`
	StationID    string    `json:"station_id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	EnergyWh     int64     `json:"energy_wh"`
	TimeHours    string    `json:"time_hours,omitempty"`
	ParkingHours string    `json:"parking_hours,omitempty"`
	Energy       Money     `json:"energy"`
	Time         Money     `json:"time"`
	Parking      Money     `json:"parking"`
	Fees         Money     `json:"fees" doc:"start fee, reservation and min/max price adjustment"`
	ExclVAT      Money     `json:"excl_vat"`
	VATRate      string    `json:"vat_rate" doc:"percent; empty: no VAT applicable; \"mixed\": parts at several rates"`
	VAT          Money     `json:"vat" doc:"for information: the invoice's VAT is computed per rate"`
	InclVAT      Money     `json:"incl_vat"`
	Charged      Money     `json:"charged" doc:"what the ledger charged for the session"`
}

// CreditLineOut is one refund on a credit note.
type CreditLineOut struct {
	LedgerTxID string    `json:"ledger_tx_id"`
	Ref        string    `json:"ref,omitempty"`
	Memo       string    `json:"memo,omitempty"`
	At         time.Time `json:"at"`
	Refunded   Money     `json:"refunded"`
	VATRate    string    `json:"vat_rate"`
}

// VATGroupOut is the total of one VAT rate.
type VATGroupOut struct {
	VATRate string `json:"vat_rate" doc:"percent; empty: no VAT applicable"`
	ExclVAT Money  `json:"excl_vat"`
	VAT     Money  `json:"vat"`
	InclVAT Money  `json:"incl_vat"`
}

// InvoiceOut is an issued invoice or credit note (a credit note's amounts are negative).
type InvoiceOut struct {
	ID           string           `json:"id"`
	Kind         string           `json:"kind" enum:"invoice,credit_note"`
	Number       string           `json:"number"`
	Series       string           `json:"series"`
	AccountID    string           `json:"account_id"`
	CustomerName string           `json:"customer_name,omitempty"`
	CustomerMail string           `json:"customer_email,omitempty"`
	Period       string           `json:"period"`
	TimeZone     string           `json:"time_zone"`
	From         time.Time        `json:"from"`
	To           time.Time        `json:"to"`
	Currency     string           `json:"currency"`
	Lines        []InvoiceLineOut `json:"lines"`
	Credits      []CreditLineOut  `json:"credits"`
	VAT          []VATGroupOut    `json:"vat"`
	TotalExclVAT Money            `json:"total_excl_vat"`
	TotalVAT     Money            `json:"total_vat"`
	Total        Money            `json:"total"`
	Charged      Money            `json:"charged" doc:"what the ledger moved: the sessions' charges, or the refunds (negative)"`
	Status       string           `json:"status"`
	IssuedAt     time.Time        `json:"issued_at"`
}

func invoiceOut(inv *billing.Invoice) InvoiceOut {
	m := func(minor int64) Money { return MoneyOf(money.New(minor, inv.Currency)) }
	out := InvoiceOut{ID: inv.ID, Kind: inv.Kind, Number: inv.Number, Series: inv.Series, AccountID: inv.AccountID, CustomerName: inv.CustomerName,
		CustomerMail: inv.CustomerMail, Period: inv.Period, TimeZone: inv.TimeZone, From: inv.From, To: inv.To, Currency: inv.Currency,
		Lines: []InvoiceLineOut{}, Credits: []CreditLineOut{}, VAT: []VATGroupOut{}, TotalExclVAT: m(inv.ExclMinor), TotalVAT: m(inv.VATMinor),
		Total: m(inv.TotalMinor), Charged: m(inv.ChargedMinor), Status: inv.Status, IssuedAt: inv.IssuedAt}
	for _, l := range inv.Lines {
		fees := l.PartMinor(billing.PartFixed) + l.PartMinor(billing.PartReservation) + l.PartMinor(billing.PartAdjustment)
		out.Lines = append(out.Lines, InvoiceLineOut{SessionID: l.SessionID, CDRID: l.CDRID, StationID: l.StationID, Start: l.Start, End: l.End,
			EnergyWh: l.EnergyWh, TimeHours: l.TimeHours, ParkingHours: l.ParkingHours, Energy: m(l.PartMinor(billing.PartEnergy)),
			Time: m(l.PartMinor(billing.PartTime)), Parking: m(l.PartMinor(billing.PartParking)), Fees: m(fees), ExclVAT: m(l.ExclMinor),
			VATRate: l.Rate, VAT: m(l.VATMinor), InclVAT: m(l.InclMinor), Charged: m(l.ChargedMinor)})
	}
	for _, c := range inv.Credits {
		out.Credits = append(out.Credits, CreditLineOut{LedgerTxID: c.LedgerTxID, Ref: c.Ref, Memo: c.Memo, At: c.At, Refunded: m(c.GrossMinor), VATRate: c.Rate})
	}
	for _, g := range inv.VAT {
		out.VAT = append(out.VAT, VATGroupOut{VATRate: g.Rate, ExclVAT: m(g.ExclMinor), VAT: m(g.VATMinor), InclVAT: m(g.InclMinor)})
	}
	return out
}

// InvoiceListParams select invoices.
type InvoiceListParams struct {
	AccountID string `query:"account_id" maxLength:"100"`
	Period    string `query:"period" doc:"YYYY-MM" maxLength:"7"`
	Kind      string `query:"kind" enum:"invoice,credit_note,"`
	Currency  string `query:"currency" maxLength:"3"`
	Limit     int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor    string `query:"cursor"`
	RangeParams
}

// InvoiceRunIn asks for a period's invoices.
type InvoiceRunIn struct {
	Period    string `json:"period" doc:"YYYY-MM" example:"2026-11"`
	AccountID string `json:"account_id,omitempty" doc:"only this account"`
}

// InvoiceSummary is one document of a run.
type InvoiceSummary struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Number    string `json:"number"`
	AccountID string `json:"account_id"`
	Total     Money  `json:"total"`
}

// InvoiceRunOut is what a run did.
type InvoiceRunOut struct {
	Period   string           `json:"period"`
	Accounts int              `json:"accounts" doc:"accounts looked at"`
	Issued   []InvoiceSummary `json:"issued" doc:"documents issued by this run"`
	Existing []InvoiceSummary `json:"existing" doc:"documents of the period issued before"`
}

func summaries(invs []billing.Invoice) []InvoiceSummary {
	out := []InvoiceSummary{}
	for _, inv := range invs {
		out = append(out, InvoiceSummary{ID: inv.ID, Kind: inv.Kind, Number: inv.Number, AccountID: inv.AccountID, Total: MoneyOf(money.New(inv.TotalMinor, inv.Currency))})
	}
	return out
}

// pdfOut is a PDF document: raw bytes, not JSON.
type pdfOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func pdfOp(o huma.Operation) huma.Operation {
	o.Responses = map[string]*huma.Response{"200": {Description: "A PDF document", Content: map[string]*huma.MediaType{
		"application/pdf": {Schema: &huma.Schema{Type: "string", Format: "binary"}}}}}
	return o
}

// SettlementListParams select settlements.
type SettlementListParams struct {
	SessionID string `query:"session_id" maxLength:"100"`
	StationID string `query:"station_id" maxLength:"100"`
	Outcome   string `query:"outcome" enum:"matched,amount_differs,pending,not_settled,no_transaction,"`
	Limit     int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor    string `query:"cursor"`
	RangeParams
}

// ReconcileIn names the session whose settlements to reconcile (all pending ones if empty).
type ReconcileIn struct {
	SessionID string `json:"session_id,omitempty"`
}

func registerInvoices(api huma.API, a *app.App) {
	invoicesOp := op(http.MethodGet, "/invoices", "list-invoices", "Issued invoices and credit notes", account.RoleViewer, "Billing")
	listDoc{times: []string{"issued_at"}, sorts: []string{"issued_at", "number", "total"}, amount: "total"}.document(&invoicesOp)
	huma.Register(api, invoicesOp,
		func(ctx context.Context, in *InvoiceListParams) (*body[Page[InvoiceOut]], error) {
			q := store.Query{Limit: in.Limit, Cursor: in.Cursor, Filter: map[string]string{}}
			for k, v := range map[string]string{"account_id": in.AccountID, "period": in.Period, "kind": in.Kind, "currency": in.Currency} {
				if v != "" {
					q.Filter[k] = v
				}
			}
			if err := in.apply(&q); err != nil {
				return nil, err
			}
			items, next, err := a.Invoices(ctx, q)
			if err != nil {
				return nil, listFail(err)
			}
			out := Page[InvoiceOut]{Items: []InvoiceOut{}, NextCursor: next}
			for i := range items {
				out.Items = append(out.Items, invoiceOut(&items[i]))
			}
			return &body[Page[InvoiceOut]]{out}, nil
		})
	huma.Register(api, op(http.MethodGet, "/invoices/{id}", "get-invoice", "An issued invoice or credit note", account.RoleViewer, "Billing"),
		func(ctx context.Context, in *idPath) (*body[InvoiceOut], error) {
			inv, err := a.Invoice(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[InvoiceOut]{invoiceOut(inv)}, nil
		})
	huma.Register(api, pdfOp(op(http.MethodGet, "/invoices/{id}/pdf", "get-invoice-pdf", "An issued invoice or credit note as PDF", account.RoleViewer, "Billing")),
		func(ctx context.Context, in *idPath) (*pdfOut, error) {
			b, inv, err := a.InvoicePDF(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &pdfOut{ContentType: "application/pdf", ContentDisposition: `inline; filename="` + inv.Number + `.pdf"`, Body: b}, nil
		})
	huma.Register(api, op(http.MethodPost, "/invoices/run", "run-invoices", "Issue a period's invoices and credit notes (idempotent)", account.RoleAdmin, "Billing"),
		func(ctx context.Context, in *struct{ Body InvoiceRunIn }) (*body[InvoiceRunOut], error) {
			run, err := a.RunInvoices(ctx, in.Body.Period, in.Body.AccountID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[InvoiceRunOut]{InvoiceRunOut{Period: run.Period, Accounts: run.Accounts, Issued: summaries(run.Issued), Existing: summaries(run.Existing)}}, nil
		})
	huma.Register(api, pdfOp(op(http.MethodGet, "/sessions/{id}/receipt.pdf", "get-session-receipt-pdf", "The receipt of an ended session as PDF", account.RoleViewer, "Billing")),
		func(ctx context.Context, in *idPath) (*pdfOut, error) {
			b, err := a.ReceiptPDF(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &pdfOut{ContentType: "application/pdf", ContentDisposition: `inline; filename="receipt-` + in.ID + `.pdf"`, Body: b}, nil
		})
	settlementsOp := op(http.MethodGet, "/settlements", "list-settlements", "Payment-terminal settlements and their reconciliation", account.RoleViewer, "Billing")
	byCreation.document(&settlementsOp)
	huma.Register(api, settlementsOp,
		func(ctx context.Context, in *SettlementListParams) (*body[Page[billing.Settlement]], error) {
			q := store.Query{Limit: in.Limit, Cursor: in.Cursor, Filter: map[string]string{}}
			for k, v := range map[string]string{"session_id": in.SessionID, "station_id": in.StationID, "outcome": in.Outcome} {
				if v != "" {
					q.Filter[k] = v
				}
			}
			if err := in.apply(&q); err != nil {
				return nil, err
			}
			items, next, err := a.Settlements(ctx, q)
			if err != nil {
				return nil, listFail(err)
			}
			if items == nil {
				items = []billing.Settlement{}
			}
			return &body[Page[billing.Settlement]]{Page[billing.Settlement]{Items: items, NextCursor: next}}, nil
		})
	huma.Register(api, op(http.MethodPost, "/settlements/reconcile", "reconcile-settlements", "Reconcile pending settlements with their sessions", account.RoleOperator, "Billing"),
		func(ctx context.Context, in *struct{ Body ReconcileIn }) (*body[Page[billing.Settlement]], error) {
			items, err := a.ReconcileSettlements(ctx, in.Body.SessionID)
			if err != nil {
				return nil, fail(err)
			}
			if items == nil {
				items = []billing.Settlement{}
			}
			return &body[Page[billing.Settlement]]{Page[billing.Settlement]{Items: items}}, nil
		})
	huma.Register(api, op(http.MethodPut, "/terminal-accounts/{currency}", "ensure-terminal-account", "The terminal account of a currency (created if needed): bind terminals' pre-authorised tokens to it", account.RoleOperator, "Billing"),
		func(ctx context.Context, in *struct {
			Currency string `path:"currency" minLength:"3" maxLength:"3"`
		}) (*body[account.Account], error) {
			acc, err := a.EnsureTerminalAccount(ctx, in.Currency)
			if err != nil {
				return nil, fail(err)
			}
			return &body[account.Account]{*acc}, nil
		})
}
