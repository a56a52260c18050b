// Package postgres opens the production store: PostgreSQL through pgx v5 (pooled via
// database/sql), the same schema and queries as SQLite (see store/sqlstore).
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
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
	TxNoSQL:      "SELECT nextval('ocpp16_transaction_seq') FROM generate_series(1, 64)",
	Pipe:         pipe,
}

// pipe sends items to conn's server as one pgx batch (the extended protocol's pipeline: one
// write, one Sync) and hands each statement's outcome to its Done in order. PostgreSQL runs a
// batch's statements in the transaction open on the connection; one that fails aborts it, and
// those after it fail too, so the first failure is the one reported.
func pipe(ctx context.Context, conn *sql.Conn, items []sqlstore.PipeItem) error {
	// A panic in a Done or Row (a bug) must not leave Raw: database/sql would close the
	// connection under the transaction open on it and wait for that transaction forever. It
	// ends the batch, leaves Raw as an error, and goes on once the connection is free.
	var panicked any
	err := conn.Raw(func(dc any) (err error) {
		defer func() {
			if p := recover(); p != nil {
				panicked, err = p, errPanicked
			}
		}()
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: pipeline on a %T connection", dc)
		}
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(items))}
		for i := range items {
			b.Queue(items[i].SQL, items[i].Args...)
		}
		br := sc.Conn().SendBatch(ctx, b)
		defer br.Close() // read what is left, so the connection is ready for what follows
		for i := range items {
			if err = outcome(br, &items[i]); err != nil {
				return err
			}
		}
		return br.Close()
	})
	if panicked != nil {
		panic(panicked)
	}
	return err
}

var errPanicked = errors.New("postgres: pipeline ended by a panic")

// outcome reads one statement's result from br and gives it to the item.
func outcome(br pgx.BatchResults, it *sqlstore.PipeItem) error {
	if it.Row == nil {
		tag, err := br.Exec()
		return it.Done(tag.RowsAffected(), err)
	}
	rows, err := br.Query()
	if err != nil {
		return it.Done(0, err)
	}
	var n int64
	for rows.Next() {
		n++
		if err = it.Row(rows.Scan); err != nil {
			break
		}
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	return it.Done(n, err)
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// defaultPool is how many connections a node opens at most.
const defaultPool = 32

// Open connects to dsn (postgres://…) and applies migrations. The DSN's pool_max_conns
// parameter (taken out before connecting) caps the node's connections: several nodes on one
// server must fit its max_connections together.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	dsn, pool, err := poolSize(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
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

// poolSize takes the pool_max_conns parameter (the name pgxpool gives it) out of a URL DSN and
// returns the pool size it asks for, or defaultPool.
func poolSize(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.RawQuery == "" {
		return dsn, defaultPool, nil // not a URL with parameters: pgx reports what is wrong with it
	}
	q := u.Query()
	v, ok := q["pool_max_conns"]
	if !ok {
		return dsn, defaultPool, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 2 || n > 1000 {
		return "", 0, fmt.Errorf("pool_max_conns=%q: want a whole number from 2 to 1000", v[0])
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// ConnString is dsn for a single connection (a node's LISTEN connection): without the pool's
// own parameters.
func ConnString(dsn string) string {
	if d, _, err := poolSize(dsn); err == nil {
		return d
	}
	return dsn
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
