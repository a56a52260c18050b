package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestSessionUpdates: a session updated in the transaction that read it writes only the
// columns that changed; every column must still end up right, whichever way it was read, and
// the filters that read the columns must find it.
func TestSessionUpdates(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		site := asset.Site{ID: "site_s", SiteFields: asset.SiteFields{Name: "S", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		st := asset.Station{ID: "CP-S", StationFields: asset.StationFields{SiteID: "site_s", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		acc := account.Account{ID: "acc_s", Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
		ses := charging.Session{ID: "ses_1", StationID: "CP-S", EVSENo: 1, TxRef: "42", Kind: charging.KindCharge, Status: charging.Active, StartedAt: now, UpdatedAt: now}
		write(t, s, func(tx store.Tx) error {
			return errors.Join(tx.Sites().Create(ctx, &site), tx.Stations().Create(ctx, &st), tx.Accounts().Create(ctx, &acc), tx.Sessions().Create(ctx, &ses))
		})
		count := func(filter map[string]string) int {
			t.Helper()
			var n int
			read(t, s, func(tx store.Tx) error {
				items, _, err := tx.Sessions().List(ctx, store.Query{Filter: filter, Limit: 10})
				n = len(items)
				return err
			})
			return n
		}

		// Read by transaction id, then update energy, account and status in the same transaction.
		write(t, s, func(tx store.Tx) error {
			got, err := tx.SessionByTx(ctx, "CP-S", "42")
			if err != nil {
				return err
			}
			got.EnergyWh, got.UpdatedAt = 1500, now.Add(time.Minute)
			if err := tx.Sessions().Update(ctx, got); err != nil {
				return err
			}
			got.AccountID, got.EnergyWh = "acc_s", 2500 // a late token, a second update in one transaction
			if err := tx.Sessions().Update(ctx, got); err != nil {
				return err
			}
			stop := now.Add(time.Hour)
			cost := int64(990)
			got.Status, got.StoppedAt, got.CostMinor, got.TariffID, got.Currency = charging.Completed, &stop, &cost, "tar_x", "EUR"
			return tx.Sessions().Update(ctx, got)
		})
		var got *charging.Session
		read(t, s, func(tx store.Tx) (err error) { got, err = tx.SessionByTx(ctx, "CP-S", "42"); return })
		if got.EnergyWh != 2500 || got.AccountID != "acc_s" || got.Status != charging.Completed || got.CostMinor == nil || *got.CostMinor != 990 {
			t.Fatalf("document after updates: %+v", got)
		}
		for _, f := range []map[string]string{
			{"account_id": "acc_s"}, {"status": charging.Completed}, {"tariff_id": "tar_x"}, {"station_id": "CP-S", "tx_ref": "42"},
		} {
			if n := count(f); n != 1 {
				t.Errorf("filter %v finds %d sessions, want 1 (a column was not updated)", f, n)
			}
		}
		if n := count(map[string]string{"status": charging.Active}); n != 0 {
			t.Errorf("still listed as active: %d", n)
		}

		// An update of a session this transaction did not read writes every column.
		write(t, s, func(tx store.Tx) error {
			cp := *got
			cp.AccountID, cp.UpdatedAt = "", now.Add(2*time.Hour)
			return tx.Sessions().Update(ctx, &cp)
		})
		if n := count(map[string]string{"account_id": "acc_s"}); n != 0 {
			t.Errorf("account column kept after a blind update: %d", n)
		}
		err := s.View(ctx, func(tx store.Tx) error { _, err := tx.SessionByTx(ctx, "CP-S", "43"); return err })
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown transaction: %v, want NotFound", err)
		}
	})
}

// TestStartKeyPlan: every 1.6 StartTransaction looks its start key up, so the look-up must be
// an index probe and never a walk of the sessions table, on both engines and, on PostgreSQL,
// in the generic plan a prepared statement settles on. The look-up it replaced ordered by id,
// and PostgreSQL served it by walking the primary key, filtering every row.
func TestStartKeyPlan(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		site := asset.Site{ID: "site_s", SiteFields: asset.SiteFields{Name: "S", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		write(t, s, func(tx store.Tx) error { return tx.Sites().Create(ctx, &site) })
		// Sessions at a few stations, a third of them without a start key (as 2.0.1 writes them).
		write(t, s, func(tx store.Tx) error {
			for i := 0; i < 4; i++ {
				st := asset.Station{ID: fmt.Sprintf("CP-%d", i), StationFields: asset.StationFields{SiteID: "site_s", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
				if err := tx.Stations().Create(ctx, &st); err != nil {
					return err
				}
			}
			for i := 0; i < 600; i++ {
				st := fmt.Sprintf("CP-%d", i%4)
				ses := charging.Session{ID: fmt.Sprintf("ses_%04d", i), StationID: st, EVSENo: 1, TxRef: fmt.Sprint(i), Kind: charging.KindCharge, Status: charging.Completed, StartedAt: now, UpdatedAt: now}
				if i%3 != 0 {
					ses.StartKey = fmt.Sprintf("%s|1|TAG|%d|0", st, i)
				}
				if err := tx.Sessions().Create(ctx, &ses); err != nil {
					return err
				}
			}
			return nil
		})
		text := explain(t, s, sqlstore.StartKeyQuery, "CP-1", "CP-1|1|TAG|1|0")
		if !strings.Contains(text, "sessions_start_key") || strings.Contains(text, "Seq Scan") || strings.Contains(text, "sessions_pkey") || strings.Contains(text, "SCAN sessions") {
			t.Errorf("start-key look-up is not a probe of sessions_start_key:\n%s", text)
		}

		// And it answers: the session at its own station, nothing at another.
		read(t, s, func(tx store.Tx) error {
			got, err := tx.SessionByStartKey(ctx, "CP-1", "CP-1|1|TAG|1|0")
			if err != nil || got.ID != "ses_0001" {
				t.Errorf("by start key: %+v %v", got, err)
			}
			if _, err := tx.SessionByStartKey(ctx, "CP-2", "CP-1|1|TAG|1|0"); !errs.Is(err, errs.NotFound) {
				t.Errorf("another station's key: %v", err)
			}
			return nil
		})
	})
}

// TestSessionsFillfactor: on PostgreSQL the sessions table leaves room on its pages, so that
// a meter value's update of its session can be HOT (no new index entries); the migration
// rolls back and applies again. On SQLite the migration does nothing and must still apply.
func TestSessionsFillfactor(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := s.(*sqlstore.DB)
		if err := db.RedoMigration(ctx, 20); err != nil {
			t.Fatal(err)
		}
		if db.Dialect() != "postgres" {
			return
		}
		var opts sql.NullString
		if err := db.SQL().QueryRowContext(ctx, "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'sessions'::regclass").Scan(&opts); err != nil {
			t.Fatal(err)
		}
		if opts.String != "fillfactor=70" {
			t.Errorf("sessions reloptions = %q, want fillfactor=70", opts.String)
		}
	})
}

// TestVehicleVINPlan: a look-up by VIN (a swap order's vehicle) probes the partial unique
// index vehicles_vin, also in PostgreSQL's generic plan, which can use a partial index only
// when the query states its condition.
func TestVehicleVINPlan(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		u := account.User{ID: "usr_v", UserFields: account.UserFields{Name: "V", Email: "v@example.com", Role: account.RolePurchaser}, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		write(t, s, func(tx store.Tx) error {
			if err := tx.Users().Create(ctx, &u); err != nil {
				return err
			}
			for i := 0; i < 300; i++ {
				v := account.Vehicle{ID: fmt.Sprintf("veh_%04d", i), VehicleFields: account.VehicleFields{OwnerID: "usr_v"}, Status: account.Active, CreatedAt: now, UpdatedAt: now}
				if i%2 == 0 {
					v.VIN = fmt.Sprintf("VIN%014d", i)
				}
				if err := tx.Vehicles().Create(ctx, &v); err != nil {
					return err
				}
			}
			return nil
		})
		text := explain(t, s, sqlstore.VehicleByVINQuery(), "VIN00000000000042")
		if !strings.Contains(text, "vehicles_vin") || strings.Contains(text, "Seq Scan") || strings.Contains(text, "vehicles_pkey") || strings.Contains(text, "SCAN vehicles") {
			t.Errorf("VIN look-up is not a probe of vehicles_vin:\n%s", text)
		}
		read(t, s, func(tx store.Tx) error {
			v, err := tx.Vehicles().GetBy(ctx, "vin", "VIN00000000000042")
			if err != nil || v.ID != "veh_0042" {
				t.Errorf("by VIN: %+v %v", v, err)
			}
			if _, err := tx.Vehicles().GetBy(ctx, "vin", ""); !errs.Is(err, errs.NotFound) {
				t.Errorf("by an empty VIN: %v", err)
			}
			return nil
		})
	})
}

// explain returns the plan of query q ('?' placeholders) for args: SQLite's EXPLAIN QUERY
// PLAN, or PostgreSQL's generic plan (forced, as a prepared statement ends up using) after
// ANALYZE of every table.
func explain(t *testing.T, s store.Store, q string, args ...string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := s.(interface{ SQL() *sql.DB }).SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var plan []string
	collect := func(q string, args ...any) {
		t.Helper()
		rows, err := conn.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		lines, err := sqlstore.PlanLines(rows)
		if err != nil {
			t.Fatal(err)
		}
		plan = append(plan, lines)
	}
	if s.(interface{ Dialect() string }).Dialect() != "postgres" {
		anys := make([]any, len(args))
		for i, a := range args {
			anys[i] = a
		}
		collect("EXPLAIN QUERY PLAN "+q, anys...)
		return strings.Join(plan, "\n")
	}
	types := make([]string, len(args))
	quoted := make([]string, len(args))
	for i, a := range args {
		q = strings.Replace(q, "?", fmt.Sprintf("$%d", i+1), 1)
		types[i], quoted[i] = "text", "'"+strings.ReplaceAll(a, "'", "''")+"'"
	}
	for _, stmt := range []string{"ANALYZE", "SET plan_cache_mode = force_generic_plan",
		"PREPARE explained(" + strings.Join(types, ", ") + ") AS " + q} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	defer func() { _, _ = conn.ExecContext(ctx, "DEALLOCATE explained; RESET plan_cache_mode") }()
	collect("EXPLAIN EXECUTE explained(" + strings.Join(quoted, ", ") + ")")
	return strings.Join(plan, "\n")
}

// TestPrefetchSessions: a batch reads its sessions ahead in one statement (PostgreSQL, where the
// master-data versions go with it in one round trip; SQLite's writer has them cached),
// SessionByTx then answers them without a statement, and a session the transaction writes is
// never answered from the stale copy read ahead.
func TestPrefetchSessions(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		site := asset.Site{ID: "site_p", SiteFields: asset.SiteFields{Name: "P", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		var refs []store.SessionRef
		write(t, s, func(tx store.Tx) error {
			err := tx.Sites().Create(ctx, &site)
			for i, id := range []string{"CP-P1", "CP-P2", "CP-P3"} {
				st := asset.Station{ID: id, StationFields: asset.StationFields{SiteID: "site_p", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
				ses := charging.Session{ID: fmt.Sprintf("ses_p%d", i), StationID: id, EVSENo: 1, TxRef: fmt.Sprint(100 + i), Kind: charging.KindCharge,
					Status: charging.Active, EnergyWh: int64(10 * i), StartedAt: now, UpdatedAt: now}
				err = errors.Join(err, tx.Stations().Create(ctx, &st), tx.Sessions().Create(ctx, &ses))
				refs = append(refs, store.SessionRef{StationID: id, TxRef: ses.TxRef})
			}
			return err
		})
		pg := strings.HasSuffix(t.Name(), "postgres")
		pipes, restore := s.(*sqlstore.DB).CountPipelines()
		defer restore()
		write(t, s, func(tx store.Tx) error {
			n0, _ := sqlstore.Counts()
			if err := tx.PrefetchSessions(ctx, refs); err != nil { // 3, padded to 4 with the last
				return err
			}
			n1, _ := sqlstore.Counts()
			if want := map[bool]int64{true: 2, false: 0}[pg]; n1-n0 != want {
				t.Errorf("prefetch of 3 sessions took %d statements, want %d", n1-n0, want)
			}
			if want := map[bool][]int{true: {2}}[pg]; !slices.Equal(*pipes, want) {
				t.Errorf("prefetch of 3 sessions sent pipelines of %v statements, want %v", *pipes, want)
			}
			for i, ref := range refs {
				got, err := tx.SessionByTx(ctx, ref.StationID, ref.TxRef)
				if err != nil {
					return err
				}
				if got.ID != fmt.Sprintf("ses_p%d", i) || got.EnergyWh != int64(10*i) {
					t.Errorf("%v: got %s with %d Wh", ref, got.ID, got.EnergyWh)
				}
				got.EnergyWh = 777 // the caller's copy: the next look-up must not see it
			}
			if n2, _ := sqlstore.Counts(); n2 != n1 {
				t.Errorf("look-ups after the prefetch took %d statements, want 0", n2-n1)
			}
			if _, err := tx.SessionByTx(ctx, "CP-P1", "999"); !errs.Is(err, errs.NotFound) {
				t.Errorf("unknown transaction: %v, want NotFound", err)
			}
			first, err := tx.SessionByTx(ctx, refs[0].StationID, refs[0].TxRef)
			if err != nil {
				return err
			}
			if first.EnergyWh != 0 {
				t.Errorf("look-up sees a caller's change: %d Wh", first.EnergyWh)
			}
			first.EnergyWh = 1234
			if err := tx.Sessions().Update(ctx, first); err != nil {
				return err
			}
			// Reading sessions writes the update held back: it is no longer pending, and only
			// dropping the copy read ahead keeps the next look-up from answering with it.
			if _, err := tx.Sessions().Get(ctx, "ses_p2"); err != nil {
				return err
			}
			again, err := tx.SessionByTx(ctx, refs[0].StationID, refs[0].TxRef)
			if err != nil {
				return err
			}
			if again.EnergyWh != 1234 {
				t.Errorf("after an update in the transaction: %d Wh, want 1234 (the copy read ahead was stale)", again.EnergyWh)
			}
			// Prefetching again skips the session with an update held back.
			if err := tx.PrefetchSessions(ctx, refs); err != nil {
				return err
			}
			if again, err = tx.SessionByTx(ctx, refs[0].StationID, refs[0].TxRef); err != nil || again.EnergyWh != 1234 {
				t.Errorf("after a second prefetch: %v Wh (%v), want 1234", again, err)
			}
			return nil
		})
	})
}

// TestPrefetchRows: prefetch lists are padded to a few lengths, so that every batch size
// shares a handful of prepared statements, each long enough for its batch.
func TestPrefetchRows(t *testing.T) {
	seen := map[int]bool{}
	for n := 1; n <= 80; n++ {
		p := sqlstore.PrefetchRows(n)
		if p < n || p > 80 {
			t.Fatalf("%d sessions padded to %d", n, p)
		}
		seen[p] = true
	}
	if len(seen) != 8 { // 1, 2, 4, 8, 16, 32, 64, 80
		t.Errorf("%d statement lengths for 1 to 80 sessions, want 8: %v", len(seen), seen)
	}
}

// TestWriteRows: a batch's multi-row writes are split into statements of seven sizes, so a
// table's writes stay a handful of prepared statement texts whatever the batch size.
func TestWriteRows(t *testing.T) {
	seen := map[int]bool{}
	for n := 1; n <= 1000; n++ {
		stmts := 0
		for left := n; left > 0; stmts++ {
			k := sqlstore.WriteRows(left)
			if k < 1 || k > left || k > 64 || k&(k-1) != 0 {
				t.Fatalf("%d rows left: a statement of %d", left, k)
			}
			seen[k] = true
			left -= k
		}
		if n <= 64 && stmts > 6 {
			t.Errorf("%d rows take %d statements", n, stmts)
		}
	}
	if len(seen) != 7 { // 1, 2, 4, … 64
		t.Errorf("%d statement sizes, want 7: %v", len(seen), seen)
	}
}

// TestRollupUpdatesHOT: on PostgreSQL, adding an ended session to rollup rows that exist
// updates every one of them HOT (no index entry written): the rollup tables' range indexes
// hold their keys only and their pages keep room. The migration rolls back and applies again;
// on SQLite it does nothing and must still apply.
func TestRollupUpdatesHOT(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := s.(*sqlstore.DB)
		if err := db.RedoMigration(ctx, 23); err != nil {
			t.Fatal(err)
		}
		fact := func(id string) []store.SessionFact {
			return []store.SessionFact{{SessionID: id, StationID: "CP-R", SiteID: "site_r", Currency: "EUR", Kind: "charge",
				StartedAt: at, StoppedAt: at.Add(30 * time.Minute), EnergyWh: 5000, RevenueExclMinor: 150, RevenueInclMinor: 180,
				DurationS: 1800, PowerW: 10000, Hours: []report.HourShare{{Bucket: at.UnixMicro(), Seconds: 1800, Wh: 5000}}}}
		}
		write(t, s, func(tx store.Tx) error { return tx.Reports().AddSessions(ctx, fact("ses_r1")) }) // the rows
		if db.Dialect() != "postgres" {
			return
		}
		for _, table := range []string{"report_session_sums", "report_occupancy"} {
			updated, hot, err := db.UpdatesInTx(ctx, table, func(tx store.Tx) error { return tx.Reports().AddSessions(ctx, fact("ses_r2")) })
			if err != nil {
				t.Fatal(err)
			}
			if updated == 0 || hot != updated {
				t.Errorf("%s: %d rows updated, %d of them HOT; want all HOT", table, updated, hot)
			}
		}
	})
}
