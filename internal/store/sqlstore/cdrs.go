package sqlstore

import (
	"context"

	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/store"
)

var cdrs = &table[billing.CDRRecord]{name: "cdrs", entity: "CDR",
	cols: []string{"session_id", "account_id", "station_id", "tariff_id", "currency", "total_milli"},
	vals: func(v *billing.CDRRecord) []any {
		return []any{v.SessionID, v.AccountID, v.StationID, v.TariffID, v.Currency, milli(v.TotalMinor, v.Currency)}
	},
	meta: func(v *billing.CDRRecord) meta {
		return meta{ID: &v.ID, CreatedAt: &v.CreatedAt, UpdatedAt: &v.CreatedAt}
	}}

// cdrRepo holds the CDRs its transaction creates back (heldRows), to be inserted together at
// the end of the transaction, and remembers them: a session stop creates one and the report
// hook of the same stop reads it back, which needs no statement.
type cdrRepo struct {
	repo[billing.CDRRecord]
	tx *tx
}

func (t *tx) CDRs() store.Repo[billing.CDRRecord] {
	return cdrRepo{repo: repo[billing.CDRRecord]{t: cdrs, db: t.db, q: t.q}, tx: t}
}

func (r cdrRepo) Create(ctx context.Context, v *billing.CDRRecord) error {
	if err := r.tx.newCDRRows.hold(cdrs, v); err != nil {
		return err
	}
	if r.tx.newCDRs == nil {
		r.tx.newCDRs = make(map[string]billing.CDRRecord)
	}
	r.tx.newCDRs[v.ID] = *v
	return nil
}

func (r cdrRepo) Get(ctx context.Context, id string) (*billing.CDRRecord, error) {
	if v, ok := r.tx.newCDRs[id]; ok {
		return &v, nil
	}
	return r.repo.Get(ctx, id)
}

func (r cdrRepo) GetBy(ctx context.Context, field, value string) (*billing.CDRRecord, error) {
	if err := r.tx.flushCDRs(ctx); err != nil {
		return nil, err
	}
	return r.repo.GetBy(ctx, field, value)
}

func (r cdrRepo) List(ctx context.Context, q store.Query) ([]billing.CDRRecord, string, error) {
	if err := r.tx.flushCDRs(ctx); err != nil {
		return nil, "", err
	}
	return r.repo.List(ctx, q)
}

func (r cdrRepo) Update(ctx context.Context, v *billing.CDRRecord) error {
	// Created in this transaction and not yet written: the insert takes the update.
	if held, err := r.tx.newCDRRows.rehold(cdrs, v); held || err != nil {
		if err == nil {
			r.tx.newCDRs[v.ID] = *v
		}
		return err
	}
	delete(r.tx.newCDRs, v.ID) // read from the table again after a change
	return r.repo.Update(ctx, v)
}

// flushCDRs inserts the CDRs held back.
func (t *tx) flushCDRs(ctx context.Context) error {
	return t.newCDRRows.flush(ctx, t, cdrs)
}
