package store

import (
	"context"

	"github.com/evcs/evcs/internal/swap"
)

// Swaps stores battery swap orders and the history of every battery (swaps and SoH readings).
type Swaps interface {
	// Create stores a new order; Update replaces it (errs NotFound when it does not exist).
	Create(ctx context.Context, o *swap.Order) error
	Update(ctx context.Context, o *swap.Order) error
	Get(ctx context.Context, id string) (*swap.Order, error)
	// List pages orders in id order (filters: station_id, request_id, account_id, vehicle_id,
	// battery_type, status).
	List(ctx context.Context, q Query) ([]swap.Order, string, error)

	// AddBatteryEvent appends to a battery's history.
	AddBatteryEvent(ctx context.Context, e *swap.BatteryEvent) error
	// BatteryHistory pages a battery's history in id (= time) order (filters: kind, order_id).
	BatteryHistory(ctx context.Context, batteryID string, q Query) ([]swap.BatteryEvent, string, error)
}
