package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
)

// The writer never checkpoints (its commits only append to the WAL); a PASSIVE checkpoint on
// a reader connection, as the checkpointer runs, copies every committed frame.
func TestCheckpointOffTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "evcs.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	for i := range 50 {
		err := db.InTx(ctx, func(tx store.Tx) error {
			return tx.AddStatus(ctx, charging.StatusChange{StationID: "CP-1", EVSENo: 1, ConnectorNo: i, Status: "Available"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	wal, copied, err := checkpoint(ctx, other)
	if err != nil || wal == 0 || copied != wal {
		t.Fatalf("checkpoint: %d of %d frames copied (%v)", copied, wal, err)
	}
}

// The writer keeps statement journals in memory: a batch's multi-row statements then never
// spill them to a temporary file, a write syscall per page while every other message waits.
func TestWriterStatementJournalInMemory(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "evcs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ts int
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA temp_store").Scan(&ts); err != nil || ts != 2 {
		t.Fatalf("writer temp_store = %d (%v), want 2 (MEMORY)", ts, err)
	}
}

// A WAL that readers never leave (under load some Authorize is always reading) is restarted by
// the writer once it has grown past walLimit, instead of growing without end: the checkpointer
// asks, the writer's next transaction first runs the RESTART checkpoint, and the WAL starts over
// from its beginning, its file cut back to walLimit.
func TestWALRestartsPastItsLimit(t *testing.T) {
	defer func(every time.Duration, limit int64) { checkpointEvery, walLimit = every, limit }(checkpointEvery, walLimit)
	checkpointEvery, walLimit = time.Hour, 64<<10 // the test ticks by hand
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "evcs.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	write := func(n int) {
		t.Helper()
		for i := range n {
			err := db.InTx(ctx, func(tx store.Tx) error {
				return tx.AddStatus(ctx, charging.StatusChange{StationID: "CP-1", EVSENo: 1, ConnectorNo: i, Status: "Charging", Info: strings.Repeat("x", 2000)})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	write(20)
	// A reader takes its snapshot and keeps it while the writer goes on.
	reading, release, viewed := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		viewed <- db.View(ctx, func(tx store.Tx) error {
			_, err := tx.Readings(ctx, "no-session")
			close(reading)
			<-release
			return err
		})
	}()
	<-reading
	write(40)
	frames, copied, err := checkpoint(ctx, other)
	if err != nil || copied >= frames {
		t.Fatalf("with a reader in the WAL a checkpoint copied %d of %d frames (%v); want fewer", copied, frames, err)
	}
	tick(db, other, 4096) // past the limit: the writer is asked to restart the WAL
	close(release)
	if err := <-viewed; err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, path+"-wal")
	write(1) // runs the restart first, then starts the WAL over
	after, _, err := checkpoint(ctx, other)
	if err != nil || after >= frames || after > 10 {
		t.Fatalf("the WAL has %d frames after the restart and one write (%d before; %v): it did not start over", after, frames, err)
	}
	if size := fileSize(t, path+"-wal"); size > walLimit || size >= before {
		t.Fatalf("WAL file %d bytes after the restart (%d before), want at most walLimit %d", size, before, walLimit)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
