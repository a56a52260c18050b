package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// stmtCache keeps prepared statements of one pool, by query text, so that a statement that runs
// on every station message is parsed and planned once per connection rather than every time.
// SQLite needs it: modernc.org/sqlite prepares every unprepared Exec/Query anew, and parsing
// plus code generation were a quarter of the single writer's time. (pgx caches statements per
// connection by itself, so PostgreSQL does not use it.)
//
// Statements are prepared in the background the first time a query is seen: preparing needs a
// connection of the pool, and SQLite's writer pool has exactly one, held by the transaction
// that met the query. Until it is ready the query runs unprepared, as it always did.
type stmtCache struct {
	pool *sql.DB
	max  int // statements kept at most; queries beyond run unprepared

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
	closed  bool
	wg      sync.WaitGroup
}

func newStmtCache(pool *sql.DB, max int) *stmtCache {
	return &stmtCache{pool: pool, max: max, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement for q, or nil (and has it prepared for next time).
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[q]; ok {
		return st
	}
	if c.closed || c.pending[q] || len(c.stmts)+len(c.pending) >= c.max {
		return nil
	}
	c.pending[q] = true
	c.wg.Add(1)
	go c.prepare(q)
	return nil
}

func (c *stmtCache) prepare(q string) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.pool.PrepareContext(ctx, q)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, q)
	if err != nil {
		return // it runs unprepared; a later use tries again
	}
	if c.closed {
		_ = st.Close()
		return
	}
	c.stmts[q] = st
}

// close closes the statements; call it before closing the pool.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	stmts := c.stmts
	c.stmts = map[string]*sql.Stmt{}
	c.mu.Unlock()
	for _, st := range stmts {
		_ = st.Close()
	}
}

// wait waits for the statements being prepared (after the pool is closed they fail at once).
func (c *stmtCache) wait() { c.wg.Wait() }

// cachedTx runs a transaction's statements through the pool's prepared statements.
type cachedTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (t cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.c.get(q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.c.get(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.c.get(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}
