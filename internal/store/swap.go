package store

import (
	"context"
	"time"

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

	// SavePlan stores a swap station's charging plan, replacing its last one.
	SavePlan(ctx context.Context, p *swap.StationPlan) error
	// Plan returns a station's last charging plan (errs NotFound if none).
	Plan(ctx context.Context, stationID string) (*swap.StationPlan, error)
	// SitePlans returns the last charging plan of every swap station of a site.
	SitePlans(ctx context.Context, siteID string) ([]swap.StationPlan, error)
	// SwapTimes returns, per battery type, when the swaps of a station since a moment were
	// ordered (every order not cancelled: the demand the scheduler forecasts from), oldest first.
	SwapTimes(ctx context.Context, stationID string, since time.Time) (map[string][]time.Time, error)
}
