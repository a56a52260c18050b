package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestReadingsIndex: meter_readings carries the one index its one query reads: every reading
// writes every index of the table, and a batch's readings from many stations wrote one leaf page
// each of an index by station that nothing read. A session's readings are a probe of
// meter_readings_session, in time order, and the migration that dropped the other rolls back
// and applies again.
func TestReadingsIndex(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := s.(*sqlstore.DB)
		if err := db.RedoMigration(ctx, 22); err != nil {
			t.Fatal(err)
		}
		q := "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'meter_readings'"
		if db.Dialect() == "postgres" {
			q = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'meter_readings'"
		}
		rows, err := db.SQL().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, []string{"meter_readings_session"}) {
			t.Errorf("meter_readings indexes %v, want only meter_readings_session", names)
		}

		write(t, s, func(tx store.Tx) error {
			var rs []charging.Reading
			for i := range 400 {
				rs = append(rs, charging.Reading{SessionID: fmt.Sprintf("ses_%02d", i%20), StationID: fmt.Sprintf("CP-%d", i%20), EVSENo: 1,
					At: t0.Add(time.Duration(400-i) * time.Second), Measurand: charging.EnergyImport, Unit: "Wh", Milli: int64(i) * 1000})
			}
			return tx.AddReadings(ctx, rs)
		})
		text := explain(t, s, sqlstore.ReadingsQuery, "ses_07")
		if !strings.Contains(text, "meter_readings_session") || strings.Contains(text, "Seq Scan") || strings.Contains(text, "SCAN meter_readings") {
			t.Errorf("a session's readings are not a probe of meter_readings_session:\n%s", text)
		}
		read(t, s, func(tx store.Tx) error {
			got, err := tx.Readings(ctx, "ses_07")
			if err != nil || len(got) != 20 {
				t.Fatalf("ses_07: %d readings (%v), want 20", len(got), err)
			}
			if !slices.IsSortedFunc(got, func(a, b charging.Reading) int { return a.At.Compare(b.At) }) || got[0].StationID != "CP-7" {
				t.Errorf("ses_07's readings out of order or at another station: first %+v", got[0])
			}
			return nil
		})
	})
}
