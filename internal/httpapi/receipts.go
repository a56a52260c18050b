package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/store"
)

// ReceiptLineOut is one line of a receipt.
type ReceiptLineOut struct {
	Description string `json:"description"`
	Quantity    string `json:"quantity,omitempty"`
	Unit        string `json:"unit,omitempty"`
	ExclVAT     Money  `json:"excl_vat"`
	InclVAT     *Money `json:"incl_vat,omitempty"`
}

// ReceiptOut is a session's receipt.
type ReceiptOut struct {
	SessionID  string             `json:"session_id"`
	StationID  string             `json:"station_id"`
	IdToken    string             `json:"id_token,omitempty"`
	AccountID  string             `json:"account_id,omitempty"`
	StartedAt  time.Time          `json:"started_at"`
	StoppedAt  *time.Time         `json:"stopped_at,omitempty"`
	EnergyWh   int64              `json:"energy_wh"`
	ExportedWh int64              `json:"exported_wh"`
	TariffID   string             `json:"tariff_id,omitempty"`
	TariffVer  int                `json:"tariff_version,omitempty"`
	CDRID      string             `json:"cdr_id"`
	PaidBy     string             `json:"payment_method" doc:"prepaid account, or payment terminal"`
	Lines      []ReceiptLineOut   `json:"lines"`
	TotalExcl  Money              `json:"total_excl_vat"`
	Total      Money              `json:"total" doc:"what was charged"`
	Postings   []account.LedgerTx `json:"postings" doc:"hold, capture and release of the session's funds"`
	Balance    *Money             `json:"balance_after,omitempty" doc:"the account's balance now"`
	IssuedAt   time.Time          `json:"issued_at"`
}

var cdrsResource = &app.Resource[billing.CDRRecord, struct{}]{Name: "CDR", WriteRole: account.RoleAdmin,
	Repo: func(tx store.Tx) store.Repo[billing.CDRRecord] { return tx.CDRs() }}

func registerReceipts(api huma.API, a *app.App) {
	registerCRUD(api, a, cdrsResource, crudSpec{path: "/cdrs", name: "cdr", plural: "cdrs", tag: "Billing",
		filters: []string{"session_id", "account_id", "station_id", "tariff_id", "currency"},
		list:    listDoc{times: creationTime, sorts: []string{"created_at", "total"}, amount: "total charged"}, noWrite: true}, same[billing.CDRRecord])
	huma.Register(api, op(http.MethodGet, "/sessions/{id}/receipt", "get-session-receipt", "The receipt of an ended session", account.RoleViewer, "Billing"),
		func(ctx context.Context, in *idPath) (*body[ReceiptOut], error) {
			r, err := a.Receipt(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			out := ReceiptOut{SessionID: r.Session.ID, StationID: r.Session.StationID, IdToken: r.Session.IdToken, AccountID: r.Session.AccountID,
				StartedAt: r.Session.StartedAt, StoppedAt: r.Session.StoppedAt, EnergyWh: r.Session.EnergyWh, ExportedWh: r.Session.ExportedWh,
				TariffID: r.Session.TariffID, TariffVer: r.Session.TariffVersion, CDRID: r.CDR.ID, PaidBy: app.PaymentMethod(r.Session.AccountID), TotalExcl: MoneyOf(r.TotalEx), Total: MoneyOf(r.Total),
				Postings: r.Postings, IssuedAt: r.IssuedAt, Lines: []ReceiptLineOut{}}
			if out.Postings == nil {
				out.Postings = []account.LedgerTx{}
			}
			for _, l := range r.Lines {
				lo := ReceiptLineOut{Description: l.Description, Quantity: l.Quantity, Unit: l.Unit, ExclVAT: MoneyOf(l.ExclVAT)}
				if l.InclKnown {
					m := MoneyOf(l.InclVAT)
					lo.InclVAT = &m
				}
				out.Lines = append(out.Lines, lo)
			}
			if r.Balance != nil {
				b := MoneyOf(*r.Balance)
				out.Balance = &b
			}
			return &body[ReceiptOut]{out}, nil
		})
}
