package sqlstore

import (
	"context"
	"time"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/swap"
)

// swapPlanTable keeps one plan per swap station (id = station id).
var swapPlanTable = &table[swap.StationPlan]{name: "swap_plans", entity: "swap plan",
	cols: []string{"site_id"},
	vals: func(v *swap.StationPlan) []any { return []any{v.SiteID} },
	meta: func(v *swap.StationPlan) meta {
		return meta{ID: &v.StationID, CreatedAt: &v.ComputedAt, UpdatedAt: &v.ComputedAt}
	}}

func (r swaps) plans() store.Repo[swap.StationPlan] { return bind(r.t, swapPlanTable) }

func (r swaps) SavePlan(ctx context.Context, p *swap.StationPlan) error {
	err := r.plans().Update(ctx, p)
	if errs.Is(err, errs.NotFound) {
		err = r.plans().Create(ctx, p)
	}
	return err
}

func (r swaps) Plan(ctx context.Context, stationID string) (*swap.StationPlan, error) {
	return r.plans().Get(ctx, stationID)
}

func (r swaps) SitePlans(ctx context.Context, siteID string) ([]swap.StationPlan, error) {
	var out []swap.StationPlan
	q := store.Query{Filter: map[string]string{"site_id": siteID}, Limit: 500}
	for {
		ps, next, err := r.plans().List(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if next == "" {
			return out, nil
		}
		q.Cursor = next
	}
}

func (r swaps) SwapTimes(ctx context.Context, stationID string, since time.Time) (map[string][]time.Time, error) {
	rows, err := r.t.q.QueryContext(ctx, r.t.db.rebind("SELECT battery_type, created_at FROM swap_orders WHERE station_id = ? AND created_at >= ? AND status <> ? ORDER BY created_at"),
		stationID, micros(since), swap.Cancelled)
	if err != nil {
		return nil, r.t.db.mapErr("swap times", err)
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var typ string
		var at int64
		if err := rows.Scan(&typ, &at); err != nil {
			return nil, r.t.db.mapErr("swap times", err)
		}
		out[typ] = append(out[typ], time.UnixMicro(at).UTC())
	}
	return out, r.t.db.mapErr("swap times", rows.Err())
}
