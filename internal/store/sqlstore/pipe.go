package sqlstore

import (
	"context"
	"database/sql"
)

// A transaction's end (flush) writes what its functions held back: readings, status reports,
// new and changed sessions, CDRs, postings, entries, balances, report facts and rollups. On
// PostgreSQL each of those statements was a round trip, about fifteen a batch, each a wake-up
// of the backend and of the batch's goroutine: under the load tool the scheduler, epoll and
// socket calls were a third of PostgreSQL's CPU. Where the engine can (Dialect.Pipe), flush
// sends them in a pipeline instead: statements queue (later, laterQuery) and go in one write
// when a result is needed or flush ends (sendPipe), so a batch's writes take at most three
// round trips, and its read-ahead (PrefetchSessions) two. Each statement's outcome is checked
// as its result comes back, in order, as it was when each ran at once; the first failure (the
// engine's, or a check's such as a key posted meanwhile) ends the pipe and fails the
// transaction, which rolls back whatever the statements after it did.

// PipeItem is one statement of a pipeline (Dialect.Pipe).
type PipeItem struct {
	SQL  string
	Args []any
	// Row, when set, makes the statement a query: it is called for each row returned, with
	// that row's Scan.
	Row func(scan func(dest ...any) error) error
	// Done gets the statement's outcome, in statement order: the rows it affected (or
	// returned) or the engine's error. An error Done returns ends the pipeline with it.
	Done func(affected int64, err error) error
}

// pipe is a transaction's pipeline: the statements queued and not sent yet.
type pipe struct {
	conn  *sql.Conn       // the transaction's connection
	ctx   context.Context // the transaction's context, which pipelines are sent under (counted)
	on    bool            // queuing (during flush); otherwise later runs each statement at once
	items []PipeItem
}

// later runs (or, in a pipeline, queues) the statement q ('?' placeholders) that op names;
// done, if set, gets the rows it affected and may fail the transaction.
func (t *tx) later(ctx context.Context, op, q string, args []any, done func(affected int64) error) error {
	q = t.db.rebind(q)
	if t.pipe == nil || !t.pipe.on {
		res, err := t.q.ExecContext(ctx, q, args...)
		if err != nil {
			return t.db.mapErr(op, err)
		}
		if done == nil {
			return nil
		}
		n, err := res.RowsAffected()
		if err != nil {
			return t.db.mapErr(op, err)
		}
		return done(n)
	}
	t.queueExec(op, q, args, done)
	return nil
}

// queueExec queues the statement q (placeholders rebound) that op names, whatever the
// pipeline's state; done as for later.
func (t *tx) queueExec(op, q string, args []any, done func(affected int64) error) {
	t.queue(PipeItem{SQL: q, Args: args, Done: func(n int64, err error) error {
		if err != nil {
			return t.db.mapErr(op, err)
		}
		if done == nil {
			return nil
		}
		return done(n)
	}})
}

// laterQuery is later for a query: row scans each row it returns, in a pipeline when that is
// sent.
func (t *tx) laterQuery(ctx context.Context, op, q string, args []any, row func(rowScanner) error) error {
	if t.pipe == nil || !t.pipe.on {
		return t.queryEach(ctx, op, q, args, func(rows *sql.Rows) error { return row(rows) })
	}
	t.queue(PipeItem{SQL: t.db.rebind(q), Args: args,
		Row:  func(scan func(dest ...any) error) error { return row(scanFunc(scan)) },
		Done: func(_ int64, err error) error { return t.db.mapErr(op, err) }})
	return nil
}

// rowScanner is a row of a result: *sql.Rows, or a pipelined query's row.
type rowScanner interface{ Scan(dest ...any) error }

// scanFunc is a row's Scan as a rowScanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// pipelined runs fn with the statements it queues (later, laterQuery and the read-aheads)
// held in a pipeline where the engine has one, and then sends them. fn sends earlier where
// it needs a result (sendPipe).
func (t *tx) pipelined(fn func() error) error {
	if t.pipe == nil || t.pipe.on {
		return fn()
	}
	t.pipe.on = true
	err := fn()
	t.pipe.on = false
	if err != nil {
		return err // the transaction fails: what is queued is never sent
	}
	return t.sendPipe()
}

// queue adds it to the pipeline, counted and, in a statement profile, timed from now to its
// outcome.
func (t *tx) queue(it PipeItem) {
	stmtCount.Add(1)
	end, done := timeStatement(it.SQL), it.Done
	it.Done = func(n int64, err error) error { end(); return done(n, err) }
	t.pipe.items = append(t.pipe.items, it)
}

// sendPipe sends the queued statements, if any, and checks their outcomes. Like every
// statement of the transaction (counted) they go under the transaction's context, not the
// caller's: a batch's statements are its functions' together, and one message's context ending
// must not fail them.
func (t *tx) sendPipe() error {
	if t.pipe == nil || len(t.pipe.items) == 0 {
		return nil
	}
	items := t.pipe.items
	t.pipe.items = nil
	return t.db.d.Pipe(t.pipe.ctx, t.pipe.conn, items)
}

// pipedQ is a pipelining transaction's querier: a statement run directly sends the queued
// ones first, so statements reach the engine in the order the transaction issued them.
type pipedQ struct {
	q querier
	t *tx
}

func (p pipedQ) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := p.t.sendPipe(); err != nil {
		return nil, err
	}
	return p.q.ExecContext(ctx, q, args...)
}

func (p pipedQ) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := p.t.sendPipe(); err != nil {
		return nil, err
	}
	return p.q.QueryContext(ctx, q, args...)
}

// QueryRowContext cannot return the queued statements' error: it keeps it for the
// transaction's end (flush), and the query itself meets PostgreSQL's aborted transaction.
func (p pipedQ) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if err := p.t.sendPipe(); err != nil && p.t.pipeErr == nil {
		p.t.pipeErr = err
	}
	return p.q.QueryRowContext(ctx, q, args...)
}
