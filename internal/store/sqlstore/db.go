// Package sqlstore is the SQL implementation of store.Store shared by SQLite and PostgreSQL.
// The two engines differ only in what Dialect captures (placeholders, error codes, locking);
// store/sqlite and store/postgres open the database, set it up and hand it here.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pressly/goose/v3"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect captures what differs between engines.
type Dialect struct {
	Name string // "sqlite" or "postgres"
	// Goose is the goose dialect for migrations.
	Goose goose.Dialect
	// Numbered placeholders ($1) instead of '?'.
	Numbered bool
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(error) bool
	// IsForeignKey reports whether err is a foreign-key violation.
	IsForeignKey func(error) bool
	// IsRetryable reports whether a transaction failed for contention and may be retried.
	IsRetryable func(error) bool
	// TxNoSQL draws OCPP 1.6 transaction ids without locking, a row each, ascending: the node
	// keeps them and hands them out one by one ("" = use the counters table).
	TxNoSQL string
	// Pipe, when set, sends statements to conn as one pipeline and reports each one's outcome
	// to its Done, in order, until one fails (pipe.go). nil: each statement runs at once.
	Pipe func(ctx context.Context, conn *sql.Conn, items []PipeItem) error
}

// DB is a store.Store on database/sql.
type DB struct {
	w, r    *sql.DB // writer and reader pools (the same pool on PostgreSQL)
	d       Dialect
	rebinds sync.Map
	// Prepared statements of the writer and reader pools (SQLite only; nil otherwise).
	wStmts, rStmts *stmtCache
	md             mdCache // master data read on the hot path (see mdcache.go)
	// Active sessions by station and transaction (SQLite only; nil otherwise: see sessions.go).
	active *activeSessions
	// onClose run first when the store closes (an engine's background work).
	onClose []func()
	// chore is work for the writer's connection, run before its next write transaction
	// (OnWriter).
	chore atomic.Pointer[func(context.Context, *sql.Conn)]
	// txNos are transaction ids drawn (TxNoSQL, or SQLite's counter row) and not handed out yet.
	txNos struct {
		sync.Mutex
		free []int64
	}
}

// OnClose adds f to what Close runs before it closes the pools.
func (db *DB) OnClose(f func()) { db.onClose = append(db.onClose, f) }

// OnWriter runs f on the writer pool's connection before the next write transaction begins,
// outside any transaction, once: for engine work that must not run beside a write and must not
// wait for the writer to be idle, which under load it never is (SQLite's WAL restart). A second
// call before f ran replaces f.
func (db *DB) OnWriter(f func(context.Context, *sql.Conn)) { db.chore.Store(&f) }

// runChore runs the pending chore, if any.
func (db *DB) runChore(ctx context.Context) {
	f := db.chore.Swap(nil)
	if f == nil {
		return
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return // the transaction about to begin meets the same error
	}
	defer conn.Close()
	(*f)(ctx, conn)
}

// New wraps open pools. w serves InTx, r serves View.
func New(w, r *sql.DB, d Dialect) *DB {
	db := &DB{w: w, r: r, d: d}
	if d.Name == "sqlite" {
		db.wStmts = newStmtCache(w, maxStmts)
		db.rStmts = db.wStmts
		if r != w {
			db.rStmts = newStmtCache(r, maxStmts)
		}
		db.active = &activeSessions{m: map[string]*charging.Session{}}
	}
	return db
}

// maxStmts bounds the prepared statements kept per pool: the hot path has a few dozen; queries
// built from many filter combinations beyond the bound just run unprepared.
const maxStmts = 512

// Migrate applies every pending migration.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	p, err := provider(db, d)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Dialect returns the engine name.
func (db *DB) Dialect() string { return db.d.Name }

// SQL returns the writer pool, for engine-specific tools (backup, LISTEN).
func (db *DB) SQL() *sql.DB { return db.w }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.w.PingContext(ctx) }

// Close closes both pools.
func (db *DB) Close() error {
	for _, f := range db.onClose {
		f()
	}
	db.onClose = nil
	for _, c := range []*stmtCache{db.wStmts, db.rStmts} {
		if c != nil {
			c.close()
		}
	}
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	for _, c := range []*stmtCache{db.wStmts, db.rStmts} {
		if c != nil {
			c.wait()
		}
	}
	return err
}

// Stats reports the writer pool's figures.
func (db *DB) Stats() store.Stats {
	s := db.w.Stats()
	return store.Stats{OpenConns: s.OpenConnections, InUse: s.InUse, Idle: s.Idle, WaitCount: s.WaitCount, WaitDuration: s.WaitDuration}
}

// InTx runs fn in a write transaction; it commits when fn returns nil. A transaction that fails
// for contention (serialisation, deadlock, busy) is retried a few times.
func (db *DB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.run(ctx, db.w, fn)
		if err == nil || db.d.IsRetryable == nil || !db.d.IsRetryable(err) {
			return err
		}
	}
	return err
}

// View runs fn with read-only access: on SQLite in a read transaction (one snapshot; the
// reader connections are query-only), on PostgreSQL on one connection without a transaction
// block (view).
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if db.d.Name == "postgres" {
		return db.view(ctx, fn)
	}
	return db.run(ctx, db.r, fn)
}

// view runs a PostgreSQL read on one connection, statement by statement. Our transactions are
// READ COMMITTED, where each statement takes its own snapshot, so BEGIN and COMMIT around reads
// add two round trips and no consistency: an Authorize was four round trips (begin, cache
// versions, balance, commit) and is two. What a View must not do, write, SQLite's query-only
// readers refuse in every test; a statement that needs a transaction block (SET LOCAL) checks
// tx.autocommit.
func (db *DB) view(ctx context.Context, fn func(store.Tx) error) error {
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return errs.Wrap("connect", err)
	}
	defer conn.Close()
	txCount.Add(1)
	t := &tx{db: db, q: counted{conn, ctx}, autocommit: true}
	if err := fn(t); err != nil {
		return err
	}
	return t.flush(ctx)
}

// run runs fn in a transaction on pool: a write transaction on the writer pool, a read one
// on SQLite's readers (PostgreSQL's Views, on the same pool as its writes, take view instead).
func (db *DB) run(ctx context.Context, pool *sql.DB, fn func(store.Tx) error) (err error) {
	var t *tx
	if pool == db.w {
		db.runChore(ctx)
	}
	// A write transaction that may pipeline its end (pipe.go) runs on a connection of its
	// own, which the pipeline is sent on.
	var conn *sql.Conn
	begin := pool.BeginTx
	if pool == db.w && db.d.Pipe != nil {
		if conn, err = pool.Conn(ctx); err != nil {
			return errs.Wrap("begin", err)
		}
		defer conn.Close()
		begin = conn.BeginTx
	}
	sqlTx, err := begin(ctx, nil)
	if err != nil {
		return errs.Wrap("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
			return
		}
		if t != nil && t.touched != nil {
			// Hold the session cache while committing: the next write transaction may
			// start as soon as the connection is free, and must find this one's sessions.
			db.active.mu.Lock()
			defer db.active.mu.Unlock()
		}
		if t != nil && len(t.txNos) > 0 {
			// The same for the transaction ids left of the block it drew: the next one
			// must take them, not draw a block above them (ids ascend on a node).
			db.txNos.Lock()
			defer db.txNos.Unlock()
		}
		if cerr := sqlTx.Commit(); cerr != nil {
			err = errs.Wrap("commit", cerr)
			return
		}
		if t != nil && t.touched != nil {
			db.active.putLocked(t.touched)
		}
		if t != nil && len(t.txNos) > 0 {
			db.txNos.free = append(db.txNos.free, t.txNos...)
		}
	}()
	var q querier = sqlTx
	if c := db.stmtsOf(pool); c != nil {
		q = cachedTx{tx: sqlTx, c: c}
	}
	txCount.Add(1)
	t = &tx{db: db, q: counted{q, ctx}, writer: pool == db.w}
	if conn != nil {
		t.pipe = &pipe{conn: conn, ctx: ctx}
		t.q = pipedQ{q: t.q, t: t}
	}
	if err := fn(t); err != nil {
		return err
	}
	return t.flush(ctx)
}

func (db *DB) stmtsOf(pool *sql.DB) *stmtCache {
	if pool == db.w {
		return db.wStmts
	}
	return db.rStmts
}

// rebind turns '?' placeholders into $n for engines that number them. Results are cached.
func (db *DB) rebind(q string) string {
	if !db.d.Numbered {
		return q
	}
	if v, ok := db.rebinds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	s := b.String()
	db.rebinds.Store(q, s)
	return s
}

// mapErr turns engine errors into errs kinds.
func (db *DB) mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case db.d.IsUnique != nil && db.d.IsUnique(err):
		return &errs.Error{Kind: errs.Conflict, Op: op, Msg: "already exists", Err: err}
	case db.d.IsForeignKey != nil && db.d.IsForeignKey(err):
		return &errs.Error{Kind: errs.Invalid, Op: op, Msg: "refers to a record that does not exist", Err: err}
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return errs.Wrap(op, err)
}

// Statement and transaction counts of the process, for benchmarks: statements per message is
// the store's share of the hot path, and unlike a timing it does not vary with the machine.
var stmtCount, txCount atomic.Int64

// Counts returns the statements and transactions run so far by every store in the process.
func Counts() (statements, transactions int64) { return stmtCount.Load(), txCount.Load() }

// counted runs a transaction's statements, counting them, under the transaction's own context
// (the one InTx or View was given), whatever context a statement is called with. A batch is one
// transaction for many stations' messages, begun with a context that never ends: one message's
// context ending (its station gone, its deadline past) must not interrupt a statement that the
// others share. And a context that can end costs a watcher per statement (a goroutine in
// modernc's SQLite driver and for database/sql's rows, an AfterFunc in pgx) that a batch does
// not need.
type counted struct {
	q   querier
	ctx context.Context
}

func (c counted) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	stmtCount.Add(1)
	defer timeStatement(q)()
	return c.q.ExecContext(c.ctx, q, args...)
}

func (c counted) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	stmtCount.Add(1)
	defer timeStatement(q)()
	return c.q.QueryContext(c.ctx, q, args...)
}

func (c counted) QueryRowContext(_ context.Context, q string, args ...any) *sql.Row {
	stmtCount.Add(1)
	defer timeStatement(q)()
	return c.q.QueryRowContext(c.ctx, q, args...)
}
