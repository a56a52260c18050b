package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

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
