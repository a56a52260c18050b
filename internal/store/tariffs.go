package store

import (
	"context"

	"github.com/evcs/evcs/internal/billing"
)

// Tariffs stores tariff versions.
type Tariffs interface {
	// Add stores a new version (Version set by the caller: 1 for a new tariff).
	Add(ctx context.Context, r *billing.TariffRecord) error
	// Latest returns the newest version of a tariff.
	Latest(ctx context.Context, id string) (*billing.TariffRecord, error)
	// Version returns one version of a tariff.
	Version(ctx context.Context, id string, version int) (*billing.TariffRecord, error)
	// SetStatus changes the status of every version of a tariff.
	SetStatus(ctx context.Context, id, status string) error
	// List returns the newest version of each tariff (filters: status, currency).
	List(ctx context.Context, q Query) ([]billing.TariffRecord, string, error)
}
