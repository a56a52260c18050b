package sqlstore

import (
	"context"
	"database/sql"
	"sync"

	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

var (
	invoiceTable = &table[billing.Invoice]{name: "invoices", entity: "invoice",
		cols: []string{"account_id", "period", "kind", "series", "number", "currency", "total_milli"},
		vals: func(v *billing.Invoice) []any {
			return []any{v.AccountID, v.Period, v.Kind, v.Series, v.Number, v.Currency, milli(v.TotalMinor, v.Currency)}
		},
		meta: func(v *billing.Invoice) meta { return meta{&v.ID, &v.Status, &v.IssuedAt, &v.IssuedAt} }}
	settlementTable = &table[billing.Settlement]{name: "settlements", entity: "settlement",
		cols: []string{"station_id", "session_id", "transaction_id", "psp_ref", "payment_status", "outcome"},
		vals: func(v *billing.Settlement) []any {
			return []any{v.StationID, v.SessionID, v.TransactionID, v.PspRef, v.PaymentStatus, v.Outcome}
		},
		meta: func(v *billing.Settlement) meta {
			return meta{ID: &v.ID, CreatedAt: &v.CreatedAt, UpdatedAt: &v.UpdatedAt}
		}}
)

// invoices offers only what the store.Invoices interface allows: an issued invoice has no
// update path, even though the generic table would have one.
type invoices struct{ t *tx }

func (t *tx) Invoices() store.Invoices { return invoices{t} }

func (r invoices) Issue(ctx context.Context, v *billing.Invoice) error {
	if v.Status == "" {
		v.Status = billing.InvoiceIssued
	}
	return bind(r.t, invoiceTable).Create(ctx, v)
}

func (r invoices) Get(ctx context.Context, id string) (*billing.Invoice, error) {
	return bind(r.t, invoiceTable).Get(ctx, id)
}

func (r invoices) Find(ctx context.Context, accountID, period, kind string) (*billing.Invoice, error) {
	items, _, err := r.List(ctx, store.Query{Filter: map[string]string{"account_id": accountID, "period": period, "kind": kind}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, errs.E(errs.NotFound, "no %s of %s for %s", kind, period, accountID)
	}
	return &items[0], nil
}

func (r invoices) List(ctx context.Context, q store.Query) ([]billing.Invoice, string, error) {
	return bind(r.t, invoiceTable).List(ctx, q)
}

func (r invoices) AddSettlement(ctx context.Context, s *billing.Settlement) error {
	r.t.wroteTo(cSettlements)
	return bind(r.t, settlementTable).Create(ctx, s)
}

func (r invoices) UpdateSettlement(ctx context.Context, s *billing.Settlement) error {
	r.t.wroteTo(cSettlements)
	return bind(r.t, settlementTable).Update(ctx, s)
}

// pendingSettlements is the set of stations with a pending settlement, read at one version of
// the settlements table. Every session end asks about its station; the set is read again only
// after a settlement is written (AddSettlement and UpdateSettlement bump the version).
type pendingSettlements struct {
	mu       sync.Mutex
	v        int64
	read     bool
	stations map[string]bool
}

func (r invoices) HasPendingSettlements(ctx context.Context, stationID string) (bool, error) {
	v, ok := r.t.version(ctx, cSettlements)
	if !ok { // this transaction wrote settlements (or the versions are unreadable): ask the table
		var one int
		err := r.t.q.QueryRowContext(ctx, r.t.db.rebind("SELECT 1 FROM settlements WHERE station_id = ? AND outcome = ? LIMIT 1"),
			stationID, billing.SettlementPending).Scan(&one)
		if err == sql.ErrNoRows {
			return false, nil
		}
		return err == nil, r.t.db.mapErr("pending settlements", err)
	}
	p := &r.t.db.md.pending
	p.mu.Lock()
	if p.read && p.v == v {
		has := p.stations[stationID]
		p.mu.Unlock()
		return has, nil
	}
	p.mu.Unlock()
	rows, err := r.t.q.QueryContext(ctx, r.t.db.rebind("SELECT DISTINCT station_id FROM settlements WHERE outcome = ?"), billing.SettlementPending)
	if err != nil {
		return false, r.t.db.mapErr("pending settlements", err)
	}
	defer rows.Close()
	stations := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return false, r.t.db.mapErr("pending settlements", err)
		}
		stations[id] = true
	}
	if err := rows.Err(); err != nil {
		return false, r.t.db.mapErr("pending settlements", err)
	}
	p.mu.Lock()
	if !p.read || v >= p.v {
		p.v, p.read, p.stations = v, true, stations
	}
	p.mu.Unlock()
	return stations[stationID], nil
}

func (r invoices) Settlement(ctx context.Context, id string) (*billing.Settlement, error) {
	return bind(r.t, settlementTable).Get(ctx, id)
}

func (r invoices) Settlements(ctx context.Context, q store.Query) ([]billing.Settlement, string, error) {
	return bind(r.t, settlementTable).List(ctx, q)
}
