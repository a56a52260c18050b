// Package opendb opens a store from the DSN `evcs serve --db` takes:
// "sqlite:PATH" (or a bare path) or "postgres://…".
package opendb

import (
	"context"
	"fmt"
	"strings"

	"github.com/evcs/evcs/internal/store/postgres"
	"github.com/evcs/evcs/internal/store/sqlite"
	"github.com/evcs/evcs/internal/store/sqlstore"
)

// Open opens and migrates the store at dsn.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.Contains(dsn, "://"):
		return nil, fmt.Errorf("--db %q: unsupported scheme (use sqlite:PATH or postgres://…)", dsn)
	case dsn == "":
		return nil, fmt.Errorf("--db is empty")
	}
	return sqlite.Open(ctx, dsn)
}
