// Package postgres opens the production store: PostgreSQL through pgx v5 (pooled via
// database/sql), the same schema and queries as SQLite (see store/sqlstore).
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/evcs/evcs/internal/store/sqlstore"
)

// Dialect is PostgreSQL's.
var Dialect = sqlstore.Dialect{
	Name:         "postgres",
	Goose:        goose.DialectPostgres,
	Numbered:     true,
	IsUnique:     func(err error) bool { return pgCode(err) == "23505" },
	IsForeignKey: func(err error) bool { return pgCode(err) == "23503" },
	IsRetryable:  func(err error) bool { c := pgCode(err); return c == "40001" || c == "40P01" },
	TxNoSQL:      "SELECT nextval('ocpp16_transaction_seq')",
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Open connects to dsn (postgres://…) and applies migrations.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := sqlstore.Migrate(ctx, db, Dialect); err != nil {
		db.Close()
		return nil, err
	}
	if err := sequences(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(db, db, Dialect), nil
}

// sequences creates what only PostgreSQL has (the migrations are shared with SQLite): the 1.6
// transaction-id sequence, started after any id the counters table already gave out.
func sequences(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "CREATE SEQUENCE IF NOT EXISTS ocpp16_transaction_seq"); err != nil {
		return fmt.Errorf("postgres: sequence: %w", err)
	}
	_, err := db.ExecContext(ctx, `SELECT setval('ocpp16_transaction_seq', (SELECT COALESCE(MAX(value), 0) + 1 FROM counters WHERE name = 'ocpp16_transaction'), false)
		WHERE NOT (SELECT is_called FROM ocpp16_transaction_seq)`)
	if err != nil {
		return fmt.Errorf("postgres: sequence: %w", err)
	}
	return nil
}
