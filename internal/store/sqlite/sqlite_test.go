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
