package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// A SQLite database serves one node: `evcs serve` takes an exclusive lock on PATH.lock next to
// the database file (LockNode), and a second `serve` on the same file is refused instead of
// running a second, uncoordinated OCPP server and background jobs. One-shot commands (`evcs
// invoice run`, `evcs account …`) do not lock and may run beside it. The lock is the OS's
// (flock): it goes with the process, so a node killed with -9 leaves nothing to clean up.

// ErrLocked is LockNode's answer when another process serves the database.
var ErrLocked = errors.New("database is served by another evcs node")

// lockingConnector opens the writer pool's connections as sql.Open would and holds the node
// lock, if taken, until the pool closes (database/sql closes a connector that is an io.Closer).
type lockingConnector struct {
	drv  driver.Driver
	dsn  string
	path string
	db   *sql.DB

	mu   sync.Mutex
	lock *os.File
}

func (c *lockingConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c *lockingConnector) Driver() driver.Driver                        { return c.drv }

func (c *lockingConnector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	writers.Delete(c.db)
	if c.lock == nil {
		return nil
	}
	err := c.lock.Close() // closing the descriptor releases the flock
	c.lock = nil
	return err
}

// writers maps writer pools to their connectors, for LockNode.
var writers sync.Map // *sql.DB → *lockingConnector

// openWriter is sql.Open("sqlite", dsn) for the writer pool of the database at path.
func openWriter(path, dsn string) (*sql.DB, error) {
	probe, err := sql.Open("sqlite", dsn) // no connection yet: just the registered driver
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	_ = probe.Close()
	c := &lockingConnector{drv: drv, dsn: dsn, path: path}
	db := sql.OpenDB(c)
	c.db = db
	writers.Store(db, c)
	return db, nil
}

// LockNode takes the node lock of the SQLite database whose writer pool is w (a store's
// SQL()): ErrLocked, wrapped with the lock file's name, when another process (or another
// store in this process) holds it. The lock lasts until the store closes.
func LockNode(w *sql.DB) error {
	v, ok := writers.Load(w)
	if !ok {
		return errors.New("sqlite: not a SQLite writer pool")
	}
	c := v.(*lockingConnector)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock != nil {
		return nil
	}
	name := c.path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("sqlite: lock %s: %w", name, err)
	}
	// A new open file description per call: two stores in one process exclude each other too.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w (%s is locked; run several nodes on PostgreSQL)", ErrLocked, name)
		}
		return fmt.Errorf("sqlite: lock %s: %w", name, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	c.lock = f
	return nil
}
