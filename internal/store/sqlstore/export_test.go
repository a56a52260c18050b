package sqlstore

import (
	"context"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/store"
)

// StartKeyQuery is the start-key look-up, for the test that checks its plan.
const StartKeyQuery = startKeyQuery

// ReadingsQuery is a session's readings, for the test that checks its plan.
const ReadingsQuery = readingsQuery

// ViewShow runs fn in a View and then reads a PostgreSQL setting on the View's connection.
func (db *DB) ViewShow(ctx context.Context, fn func(store.Tx) error, setting string) (val string, err error) {
	err = db.View(ctx, func(t store.Tx) error {
		if err := fn(t); err != nil {
			return err
		}
		return t.(*tx).q.QueryRowContext(ctx, "SHOW "+setting).Scan(&val)
	})
	return val, err
}

// VehicleByVINQuery is GetBy("vin")'s query on vehicles, for the test that checks its plan.
func VehicleByVINQuery() string { return repo[account.Vehicle]{t: vehicles}.getByQuery("vin") }

// PrefetchRows is the padded length of a prefetch list of n sessions.
func PrefetchRows(n int) int { return prefetchRows(n) }

func WriteRows(n int) int { return writeRows(n) }

// FoldStatement is a statement's text as a statement profile lists it.
func FoldStatement(q string) string { return foldStatement(q) }
