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
// numbering of migrations/*.sql: the next SQL file after 00022 is 00024.
func goMigrations(d Dialect) []*goose.Migration {
	pg := func(stmts ...string) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if d.Name != "postgres" {
				return nil
			}
			for _, stmt := range stmts {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	return []*goose.Migration{
		// 00020: on PostgreSQL a session row leaves 30 % of its page free. Every meter value
		// rewrites its session (energy, document, update time), and an update that finds no
		// room on the row's page is not HOT: it writes a new entry into every one of the
		// table's dozen indexes. Under the load tool 98 % of session updates were such. SQLite
		// updates in place and has no such setting.
		goose.NewGoMigration(20, pg("ALTER TABLE sessions SET (fillfactor = 70)"), pg("ALTER TABLE sessions RESET (fillfactor)")),
		// 00023: on PostgreSQL the rollup tables' range indexes hold their keys only, and
		// their pages keep half their room. Every batch that ends sessions adds to a few
		// rollup rows (its sites' hour, day, month and week). With the sums in a covering
		// index none of those updates could be HOT: each wrote a new entry into both of the
		// table's indexes, and under the load tool a 420-row table grew a 16 MB index in 25 s
		// of dead entries that every upsert's conflict check walked. A report's range scan
		// now reads the few thousand rows it sums from the table. SQLite updates in place
		// and keeps the covering indexes.
		goose.NewGoMigration(23, pg(rollupIndexes(false)...), pg(rollupIndexes(true)...)),
	}
}

// rollupIndexes is the SQL that gives the rollup tables their range indexes: narrow (keys
// only, with free room on the tables' pages) or, covering, as 00014 made them.
func rollupIndexes(covering bool) []string {
	type ix struct{ table, sums string }
	var out []string
	for _, x := range []ix{
		{"report_session_sums", "site_id, tariff_id, currency, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w"},
		{"report_occupancy", "site_id, occupied_s, wh, peak_wh, peak_at"},
		{"report_topup_sums", "currency, topups, amount_minor"},
	} {
		cols, room := "grain, lvl, bucket, dim", "ALTER TABLE "+x.table+" SET (fillfactor = 50)"
		if covering {
			cols, room = cols+", "+x.sums, "ALTER TABLE "+x.table+" RESET (fillfactor)"
		}
		out = append(out, "DROP INDEX "+x.table+"_range", "CREATE INDEX "+x.table+"_range ON "+x.table+"("+cols+")", room)
	}
	return out
}
