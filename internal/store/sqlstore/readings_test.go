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

// TestReadAheadPlannedByKey: a batch's transaction (KeyedOnly) reads its ending sessions'
// readings ahead on meter_readings_session even while the table has no statistics, as in a new
// store before autovacuum's first ANALYZE, or after a restore or a major-version upgrade. Without
// statistics PostgreSQL plans a list of 64 sessions as a scan of the whole table in parallel
// workers, which grows with the table on every batch. SQLite's plan is the index either way.
func TestReadAheadPlannedByKey(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := s.(*sqlstore.DB)
		if db.Dialect() == "postgres" {
			// No statistics until the end of the test: autovacuum would ANALYZE the table
			// within a minute of these inserts.
			if _, err := db.SQL().ExecContext(ctx, "ALTER TABLE meter_readings SET (autovacuum_enabled = false)"); err != nil {
				t.Fatal(err)
			}
		}
		const sessions, each = 2500, 8
		ids := make([]any, 64)
		for from := 0; from < sessions; from += 250 {
			write(t, s, func(tx store.Tx) error {
				var rs []charging.Reading
				for i := from; i < from+250; i++ {
					for j := range each {
						rs = append(rs, charging.Reading{SessionID: fmt.Sprintf("ses_%05d", i), StationID: fmt.Sprintf("CP-%d", i%100), EVSENo: 1,
							At: t0.Add(time.Duration(j) * time.Minute), Measurand: charging.EnergyImport, Unit: "Wh", Milli: int64(j) * 1000})
					}
				}
				return tx.AddReadings(ctx, rs)
			})
		}
		for i := range ids {
			ids[i] = fmt.Sprintf("ses_%05d", i*37)
		}
		plan, err := db.ExplainInTx(ctx, func(tx store.Tx) error { return tx.KeyedOnly(ctx) }, sqlstore.ReadingsAheadQuery(len(ids)), ids...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "meter_readings_session") || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "SCAN meter_readings") || strings.Contains(plan, "Gather") {
			t.Errorf("a batch's read-ahead of 64 sessions' readings is not a probe of meter_readings_session:\n%s", plan)
		}
		// The setting lasts as long as the transaction: the next one on the connection plans
		// as the server is configured.
		if db.Dialect() == "postgres" {
			var v string
			if err := db.SQL().QueryRowContext(ctx, "SHOW enable_seqscan").Scan(&v); err != nil || v != "on" {
				t.Errorf("enable_seqscan after the transaction: %q (%v), want on", v, err)
			}
		}
	})
}
