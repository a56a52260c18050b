// Package sqlite opens the embedded default store: a SQLite file (pure Go, modernc.org/sqlite)
// in WAL mode with foreign keys on. Writes go through one connection (SQLite has one writer);
// reads use a pool of their own so they never wait behind a write.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/evcs/evcs/internal/store/sqlstore"
)

// Dialect is SQLite's.
var Dialect = sqlstore.Dialect{
	Name:  "sqlite",
	Goose: goose.DialectSQLite3,
	IsUnique: func(err error) bool {
		return code(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	IsForeignKey: func(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
	IsRetryable: func(err error) bool {
		c := code(err) & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	},
}

func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// Open opens (creating if needed) the database file at path and applies migrations.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create %s: %w", dir, err)
		}
	}
	dsn := func(txlock string) string {
		q := url.Values{}
		for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", fmt.Sprintf("busy_timeout(%d)", busyTimeout), "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		if txlock == "deferred" {
			// Readers serve View, which must not write: SQLite refuses it here, in every
			// test, for both engines (PostgreSQL's Views run outside a transaction block).
			q.Add("_pragma", "query_only(1)")
		}
		if txlock == "immediate" {
			// The writer never checkpoints: a background connection does (checkpointer).
			q.Add("_pragma", "wal_autocheckpoint(0)")
			// When the WAL starts over (restartWAL), the writer's next commit truncates the
			// file to this size: a burst's WAL does not keep its disk.
			q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walLimit))
			// A batch of a few hundred messages dirties thousands of pages across the hot
			// tables' indexes; with SQLite's default 2 MB cache the writer spilled them to
			// the WAL mid-transaction and read them back with a syscall each.
			q.Add("_pragma", "cache_size(-65536)")
			// A statement that may fail halfway (a multi-row INSERT or UPDATE) inside a
			// batch keeps the pages it changes in a statement journal, so that only it rolls
			// back. Past 64 KB SQLite spills that journal to a temporary file, a write
			// syscall per page on the writer's critical path; in memory it costs a copy.
			q.Add("_pragma", "temp_store(MEMORY)")
		}
		q.Set("_txlock", txlock)
		return "file:" + path + "?" + q.Encode()
	}
	w, err := openWriter(path, dsn("immediate")) // lock.go: the node lock goes with this pool
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := sqlstore.Migrate(ctx, w, Dialect); err != nil {
		w.Close()
		return nil, err
	}
	var pageSize int64
	if err := w.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: page size: %w", err)
	}
	r, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db := sqlstore.New(w, r, Dialect)
	stop := make(chan struct{})
	done := make(chan struct{})
	go checkpointer(db, r, pageSize, stop, done)
	db.OnClose(func() { close(stop); <-done })
	return db, nil
}

// busyTimeout is how long, in milliseconds, a connection waits for a lock another holds.
const busyTimeout = 10000

// checkpointEvery is how often the checkpointer copies the WAL into the database file. The
// hot pages (balances, counters, rollups, index interiors) are rewritten by nearly every
// commit; a checkpoint copies each once however often it changed, so once a second costs a
// quarter of the CPU of ten times a second (pprof under the load tool: 1.03 s → 0.27 s of
// 12 s).
var checkpointEvery = 1000 * time.Millisecond // a variable for tests, which tick by hand

// walLimit bounds the WAL, in bytes. A PASSIVE checkpoint copies frames up to the oldest
// snapshot a reader holds, and the WAL starts over only when a write finds every frame copied
// and no reader in the WAL. Under sustained load that moment never comes: readers (every
// Authorize) overlap, and the writer commits while each checkpoint runs. The load tool at
// 1,000 stations grew the WAL by 60 MB a second, 3.5-3.9 GB in 60 s, without end, and the rate
// fell as it grew. Past walLimit the checkpointer has the writer restart it (restartWAL): each
// restart stops the writer for 5-50 ms, so the limit is a few seconds of writes at full load
// (64 MB, a restart a second, raised p99 with 100 stations from 43 to 64 ms; 256 MB does not).
var walLimit int64 = 256 << 20

// checkpointer copies committed WAL frames into the database file every checkpointEvery, on
// a reader connection, until stop closes. SQLite's own checkpoints (every 1,000 pages) run in
// the committing connection: the single writer stopped for the page copies and the fsyncs
// while every station waited on it. A PASSIVE checkpoint never blocks the writer; the WAL
// starts over when a write finds it all copied and no reader in it, or past walLimit (tick).
// Measured with `scripts/load-run.sh` (1,000 drivers): 3,408 → 4,345 msgs/s with 100 stations,
// p99 73 → 58 ms; 3,664 → 4,185 with 1,000.
func checkpointer(db *sqlstore.DB, r *sql.DB, pageSize int64, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			tick(db, r, pageSize)
		}
	}
}

// tick checkpoints, and asks the writer to restart a WAL grown past walLimit. A failed
// checkpoint is tried again at the next tick.
func tick(db *sqlstore.DB, r *sql.DB, pageSize int64) {
	ctx := context.Background()
	wal, _, err := checkpoint(ctx, r)
	if err != nil || int64(wal)*pageSize <= walLimit {
		return
	}
	// The writer restarts the WAL between two of its transactions, while stations wait, after
	// copying what no checkpoint has. Copying a second of writes takes about a tenth of a
	// second, in which the writer adds a tenth of a second of frames: a few more passes, each
	// shorter than the last, leave it what one batch adds (the restart took 20-35 ms with 100
	// stations without them, 6-17 ms with them).
	for range 4 {
		prev := wal
		if wal, _, err = checkpoint(ctx, r); err != nil {
			return
		}
		if wal-prev <= restartFrames {
			break
		}
	}
	db.OnWriter(restartWAL)
}

// restartFrames is how many frames, added while the checkpointer caught up, the writer's
// restart may be left to copy.
const restartFrames = 256

// restartWAL runs on the writer's connection between two write transactions, so no frame is
// added meanwhile: a RESTART checkpoint copies the few frames the last PASSIVE one left, waits
// for the readers still in the WAL (an Authorize takes a millisecond or less), and makes the next
// write start the WAL from its beginning. The wait is bounded by a short busy timeout: a long
// reader (an export, a report) makes it give up, and the next tick asks again, rather than
// stop every station behind it. Errors are the next tick's to retry.
func restartWAL(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return
	}
	defer conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout))
	var busy, wal, copied int
	_ = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &wal, &copied)
}

// restartWait is how long restartWAL waits for readers to leave the WAL.
const restartWait = 20 * time.Millisecond

// checkpoint runs one PASSIVE checkpoint and returns the WAL's frames and how many of them
// the database file now has.
func checkpoint(ctx context.Context, r *sql.DB) (wal, copied int, err error) {
	var busy int
	err = r.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &wal, &copied)
	return wal, copied, err
}
