package sqlstore

import (
	"context"
	"maps"
	"strconv"

	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/swap"
)

var (
	swapOrderTable = &table[swap.Order]{name: "swap_orders", entity: "swap order",
		cols: []string{"station_id", "request_id", "account_id", "vehicle_id", "battery_type", "currency", "total_milli"},
		vals: func(v *swap.Order) []any {
			return []any{v.StationID, strconv.Itoa(v.RequestID), v.AccountID, v.VehicleID, v.BatteryType, v.Currency, milliOrUnset(v.TotalMinor, v.Currency)}
		},
		meta: func(v *swap.Order) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
	batteryEventTable = &table[swap.BatteryEvent]{name: "battery_events", entity: "battery event",
		cols: []string{"battery_id", "kind", "order_id"},
		vals: func(v *swap.BatteryEvent) []any { return []any{v.BatteryID, v.Kind, v.OrderID} },
		meta: func(v *swap.BatteryEvent) meta { return meta{ID: &v.ID, CreatedAt: &v.At, UpdatedAt: &v.At} }}
)

type swaps struct{ t *tx }

func (t *tx) Swaps() store.Swaps { return swaps{t} }

func (r swaps) Create(ctx context.Context, o *swap.Order) error {
	return bind(r.t, swapOrderTable).Create(ctx, o)
}

func (r swaps) Update(ctx context.Context, o *swap.Order) error {
	return bind(r.t, swapOrderTable).Update(ctx, o)
}

func (r swaps) Get(ctx context.Context, id string) (*swap.Order, error) {
	return bind(r.t, swapOrderTable).Get(ctx, id)
}

func (r swaps) List(ctx context.Context, q store.Query) ([]swap.Order, string, error) {
	return bind(r.t, swapOrderTable).List(ctx, q)
}

func (r swaps) AddBatteryEvent(ctx context.Context, e *swap.BatteryEvent) error {
	return bind(r.t, batteryEventTable).Create(ctx, e)
}

func (r swaps) BatteryHistory(ctx context.Context, batteryID string, q store.Query) ([]swap.BatteryEvent, string, error) {
	f := maps.Clone(q.Filter)
	if f == nil {
		f = map[string]string{}
	}
	f["battery_id"] = batteryID
	q.Filter = f
	return bind(r.t, batteryEventTable).List(ctx, q)
}
