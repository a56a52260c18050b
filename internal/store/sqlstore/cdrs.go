package sqlstore

import (
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

func (t *tx) CDRs() store.Repo[billing.CDRRecord] { return bind(t, cdrs) }
