package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestStatementProfile: a profile counts the statements run between its start and its stop,
// with multi-row statements of one kind folded into one line; only one runs at a time; after
// its stop nothing more is counted.
func TestStatementProfile(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		reading := func(n int) []charging.Reading {
			var rs []charging.Reading
			for i := range n {
				rs = append(rs, charging.Reading{SessionID: "ses_sp", StationID: "CP-SP", EVSENo: 1, At: now.Add(time.Duration(i) * time.Minute),
					Measurand: charging.EnergyImport, Unit: "Wh", Milli: int64(i) * 1000})
			}
			return rs
		}
		p, err := sqlstore.StartStatementProfile()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqlstore.StartStatementProfile(); !errs.Is(err, errs.Conflict) {
			t.Errorf("a second profile while one runs: %v, want Conflict", err)
		}
		// 3 readings are written as 2 + 1 rows, 5 as 4 + 1: four statements in three texts.
		write(t, s, func(tx store.Tx) error { return tx.AddReadings(ctx, reading(3)) })
		write(t, s, func(tx store.Tx) error { return tx.AddReadings(ctx, reading(5)) })
		read(t, s, func(tx store.Tx) error { _, err := tx.Readings(ctx, "ses_sp"); return err })
		stmts, took := p.Stop()
		if took <= 0 {
			t.Errorf("the profile ran %v", took)
		}
		calls := map[string]int64{}
		for _, st := range stmts {
			if st.Total <= 0 || st.Calls <= 0 {
				t.Errorf("%q: %d calls in %v", st.Statement, st.Calls, st.Total)
			}
			switch {
			case strings.HasPrefix(st.Statement, "INSERT INTO meter_readings"):
				calls["insert"] += st.Calls
				if !strings.HasSuffix(st.Statement, " VALUES (…)") {
					t.Errorf("not folded: %q", st.Statement)
				}
			case strings.Contains(st.Statement, "FROM meter_readings WHERE session_id"):
				calls["select"] += st.Calls
			}
		}
		if calls["insert"] != 4 || calls["select"] != 1 {
			t.Errorf("counted %v, want 4 inserts in one line and 1 select; profile:\n%v", calls, stmts)
		}
		n := 0
		for _, st := range stmts {
			if strings.HasPrefix(st.Statement, "INSERT INTO meter_readings") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the readings inserts take %d lines, want 1", n)
		}
		// Stopped: a new profile may start, and the old one counts nothing more.
		write(t, s, func(tx store.Tx) error { return tx.AddReadings(ctx, reading(1)) })
		if again, _ := p.Stop(); len(again) != 0 {
			t.Errorf("a stopped profile still counts: %v", again)
		}
		p2, err := sqlstore.StartStatementProfile()
		if err != nil {
			t.Fatalf("a profile after the first stopped: %v", err)
		}
		p2.Stop()
	})
}

func TestFoldStatement(t *testing.T) {
	for in, want := range map[string]string{
		"INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING":                       "INSERT INTO t (a, b) VALUES (…) ON CONFLICT (a) DO NOTHING",
		"INSERT INTO t (a, b) VALUES ($1, $2)":                                                        "INSERT INTO t (a, b) VALUES (…)",
		"SELECT data FROM t WHERE ref IN ($1, $2, $3) ORDER BY at":                                    "SELECT data FROM t WHERE ref IN (…) ORDER BY at",
		"WITH v(id, x) AS (VALUES (CAST(? AS TEXT), CAST(? AS BIGINT)), (?, ?)) UPDATE t SET x = v.x": "WITH v(id, x) AS (VALUES (…)) UPDATE t SET x = v.x",
		"INSERT INTO t (a) VALUES (?)\n    ON CONFLICT (a) DO UPDATE SET\n\ta = excluded.a":           "INSERT INTO t (a) VALUES (…) ON CONFLICT (a) DO UPDATE SET a = excluded.a",
		"SELECT name, v FROM cache_versions":                                                          "SELECT name, v FROM cache_versions",
		"SELECT a FROM t WHERE b IN (?, ?) AND c IN (?)":                                              "SELECT a FROM t WHERE b IN (…) AND c IN (…)",
	} {
		if got := sqlstore.FoldStatement(in); got != want {
			t.Errorf("fold %q:\n got %q\nwant %q", in, got, want)
		}
	}
}
