package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// provider is the goose provider of every migration: migrations/*.sql, the same on both
// engines, and goMigrations, whose SQL differs by engine. They share one numbering.
func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	// Migrations are written on parallel branches: a database that has a newer one must still
	// take an older one that lands later.
	p, err := goose.NewProvider(d.Goose, db, mustSub(migrations, "migrations"),
		goose.WithAllowOutofOrder(true), goose.WithGoMigrations(goMigrations(d)...))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// goMigrations are the migrations with engine-specific SQL. Their versions are taken in the
// numbering of migrations/*.sql: the next SQL file after 00021 is 00022.
func goMigrations(d Dialect) []*goose.Migration {
	pg := func(stmt string) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if d.Name != "postgres" {
				return nil
			}
			_, err := tx.ExecContext(ctx, stmt)
			return err
		}}
	}
	return []*goose.Migration{
		// 00020: on PostgreSQL a session row leaves 30 % of its page free. Every meter value
		// rewrites its session (energy, document, update time), and an update that finds no
		// room on the row's page is not HOT: it writes a new entry into every one of the
		// table's dozen indexes. Under the load tool 98 % of session updates were such. SQLite
		// updates in place and has no such setting.
		goose.NewGoMigration(20, pg("ALTER TABLE sessions SET (fillfactor = 70)"), pg("ALTER TABLE sessions RESET (fillfactor)")),
	}
}
