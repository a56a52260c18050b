package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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

// ReadingsAheadQuery is the read-ahead of n sessions' readings, for the test that checks its plan.
func ReadingsAheadQuery(n int) string { return inList(readingsAheadHead, readingsAheadTail, n) }

var errRolledBack = errors.New("rolled back")

// rolledBack runs before, then look, in a write transaction, and rolls it back: for tests that
// read what a transaction sees of its own work.
func (db *DB) rolledBack(ctx context.Context, before func(store.Tx) error, look func(*tx) error) error {
	err := db.InTx(ctx, func(t store.Tx) error {
		if err := before(t); err != nil {
			return err
		}
		if err := look(t.(*tx)); err != nil {
			return err
		}
		return errRolledBack
	})
	if errors.Is(err, errRolledBack) {
		err = nil
	}
	return err
}

// ExplainInTx runs before in a write transaction, then explains q with args there (EXPLAIN on
// PostgreSQL, EXPLAIN QUERY PLAN on SQLite: the plan's lines), and rolls the transaction back.
func (db *DB) ExplainInTx(ctx context.Context, before func(store.Tx) error, q string, args ...any) (plan string, err error) {
	err = db.rolledBack(ctx, before, func(t *tx) error {
		explain := "EXPLAIN QUERY PLAN "
		if db.d.Name == "postgres" {
			explain = "EXPLAIN "
		}
		rows, err := t.q.QueryContext(ctx, explain+db.rebind(q), args...)
		if err != nil {
			return err
		}
		plan, err = PlanLines(rows)
		return err
	})
	return plan, err
}

// PlanLines reads an EXPLAIN's rows, the last column of each, as lines, and closes rows.
func PlanLines(rows *sql.Rows) (string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// CountPipelines records, until restore, how many statements each pipeline the store sends
// (Dialect.Pipe) holds; a store whose engine has none records nothing.
func (db *DB) CountPipelines() (sizes *[]int, restore func()) {
	sizes = new([]int)
	send := db.d.Pipe
	if send == nil {
		return sizes, func() {}
	}
	db.d.Pipe = func(ctx context.Context, conn *sql.Conn, items []PipeItem) error {
		*sizes = append(*sizes, len(items))
		return send(ctx, conn, items)
	}
	return sizes, func() { db.d.Pipe = send }
}

// UpdatesInTx runs fn in a write transaction, writes what it held back, reads how many rows
// of table the transaction updated and how many of those updates were HOT (PostgreSQL's
// counters of the running transaction), and rolls the transaction back.
func (db *DB) UpdatesInTx(ctx context.Context, table string, fn func(store.Tx) error) (updated, hot int64, err error) {
	err = db.rolledBack(ctx, fn, func(t *tx) error {
		if err := t.flush(ctx); err != nil {
			return err
		}
		return t.q.QueryRowContext(ctx, "SELECT pg_stat_get_xact_tuples_updated($1::regclass), pg_stat_get_xact_tuples_hot_updated($1::regclass)", table).Scan(&updated, &hot)
	})
	return updated, hot, err
}

// SendInTx sends items as a pipeline in a write transaction (PostgreSQL) and commits it;
// false when the store's engine has no pipeline.
func (db *DB) SendInTx(ctx context.Context, items []PipeItem) (bool, error) {
	if db.d.Pipe == nil {
		return false, nil
	}
	return true, db.InTx(ctx, func(st store.Tx) error {
		t := st.(*tx)
		for _, it := range items {
			t.queue(it)
		}
		return t.sendPipe()
	})
}
