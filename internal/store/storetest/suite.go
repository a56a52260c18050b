package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
)

// Run is the conformance suite every store implementation passes.
func Run(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	site := asset.Site{ID: "site_1", SiteFields: asset.SiteFields{Name: "Depot North", TimeZone: "Europe/Amsterdam"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}

	t.Run("create and get round-trip", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error { return tx.Sites().Create(ctx, &site) })
		var got *asset.Site
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Sites().Get(ctx, "site_1"); return })
		if got.Name != "Depot North" || got.TimeZone != "Europe/Amsterdam" || !got.CreatedAt.Equal(now) {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("get missing is NotFound", func(t *testing.T) {
		err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Sites().Get(ctx, "nope"); return err })
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("want NotFound, got %v", err)
		}
	})
	t.Run("duplicate id is Conflict", func(t *testing.T) {
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.Sites().Create(ctx, &site) })
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("want Conflict, got %v", err)
		}
	})
	t.Run("foreign key enforced", func(t *testing.T) {
		st := asset.Station{ID: "CP-X", StationFields: asset.StationFields{SiteID: "missing", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.Stations().Create(ctx, &st) })
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("want Invalid for missing site, got %v", err)
		}
	})
	t.Run("rollback leaves nothing", func(t *testing.T) {
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Tx) error {
			st := asset.Station{ID: "CP-R", StationFields: asset.StationFields{SiteID: "site_1", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
			if err := tx.Stations().Create(ctx, &st); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("want boom, got %v", err)
		}
		err = s.View(ctx, func(tx store.Tx) error { _, err := tx.Stations().Get(ctx, "CP-R"); return err })
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("station survived rollback: %v", err)
		}
	})
	t.Run("secret column kept out of the document", func(t *testing.T) {
		st := asset.Station{ID: "CP-S", StationFields: asset.StationFields{SiteID: "site_1", Kind: asset.KindDC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now, PasswordHash: "hash-1"}
		mustTx(t, s, func(tx store.Tx) error { return tx.Stations().Create(ctx, &st) })
		var got *asset.Station
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Stations().Get(ctx, "CP-S"); return })
		if got.PasswordHash != "hash-1" {
			t.Fatalf("secret = %q", got.PasswordHash)
		}
		st.PasswordHash = "hash-2"
		st.Vendor = "ACME"
		mustTx(t, s, func(tx store.Tx) error { return tx.Stations().Update(ctx, &st) })
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Stations().Get(ctx, "CP-S"); return })
		if got.PasswordHash != "hash-2" || got.Vendor != "ACME" {
			t.Fatalf("after update: %+v", got)
		}
	})
	t.Run("update missing is NotFound", func(t *testing.T) {
		ghost := asset.Site{ID: "ghost", Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.Sites().Update(ctx, &ghost) })
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("want NotFound, got %v", err)
		}
	})
	t.Run("list pages with cursor and filters", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			for _, id := range []string{"site_2", "site_3", "site_4", "site_5"} {
				v := asset.Site{ID: id, SiteFields: asset.SiteFields{Name: "S " + id, TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
				if id == "site_5" {
					v.Status = asset.Inactive
				}
				if err := tx.Sites().Create(ctx, &v); err != nil {
					return err
				}
			}
			return nil
		})
		var seen []string
		for _, it := range allPages(t, s, store.Query{Limit: 2, Filter: map[string]string{"status": asset.Active}}, 10,
			func(tx store.Tx, q store.Query) ([]asset.Site, string, error) { return tx.Sites().List(ctx, q) }) {
			seen = append(seen, it.ID)
		}
		want := []string{"site_1", "site_2", "site_3", "site_4"}
		if len(seen) != len(want) {
			t.Fatalf("pages = %v, want %v", seen, want)
		}
		for i := range want {
			if seen[i] != want[i] {
				t.Fatalf("pages = %v, want %v", seen, want)
			}
		}
		err := s.View(ctx, func(tx store.Tx) error {
			_, _, err := tx.Sites().List(ctx, store.Query{Filter: map[string]string{"data": "x"}})
			return err
		})
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "data" {
			t.Fatalf("unknown filter: %v", err)
		}
	})
	t.Run("search and unique index lookups", func(t *testing.T) {
		u := account.User{ID: "usr_1", UserFields: account.UserFields{Name: "Ada Lovelace", Email: "ada@example.com", Role: account.RolePurchaser}, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		mustTx(t, s, func(tx store.Tx) error { return tx.Users().Create(ctx, &u) })
		var got *account.User
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Users().GetBy(ctx, "email", "ada@example.com"); return })
		if got.ID != "usr_1" {
			t.Fatalf("GetBy email: %+v", got)
		}
		var items []account.User
		mustView(t, s, func(tx store.Tx) (err error) {
			items, _, err = tx.Users().List(ctx, store.Query{Search: "LOVE"})
			return
		})
		if len(items) != 1 {
			t.Fatalf("search: %d items", len(items))
		}
		dup := u
		dup.ID = "usr_2"
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.Users().Create(ctx, &dup) })
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate email: want Conflict, got %v", err)
		}
	})
	t.Run("operation", func(t *testing.T) { runOperation(t, s) })
	t.Run("balance of an account without entries is zero", func(t *testing.T) {
		a := account.Account{ID: "acc_1", UserID: "usr_1", Currency: "EUR", CreditLimit: 5000, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		mustTx(t, s, func(tx store.Tx) error { return tx.Accounts().Create(ctx, &a) })
		var got *account.Account
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Accounts().Get(ctx, "acc_1"); return })
		if got.CreditLimit != 5000 {
			t.Fatalf("credit limit lost in the round trip: %+v", got)
		}
		var bal int64 = -1
		mustView(t, s, func(tx store.Tx) (err error) { bal, err = tx.Balance(ctx, "acc_1"); return })
		if bal != 0 {
			t.Fatalf("balance = %d", bal)
		}
	})
	t.Run("billing", func(t *testing.T) { runBilling(t, s) }) // needs acc_1
	t.Run("invoices", func(t *testing.T) { runInvoices(t, s) })
	t.Run("query", func(t *testing.T) { runQuery(t, s) })
}

// runOperation covers sessions, readings, status and counters.
func runOperation(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	t.Run("session unique per station transaction", func(t *testing.T) {
		cost := int64(1234)
		ses := charging.Session{ID: "ses_1", StationID: "CP-S", EVSENo: 1, TxRef: "tx-1", TxNo: 77, CostMinor: &cost, Kind: charging.KindCharge, Status: charging.Active, StartedAt: now, UpdatedAt: now}
		mustTx(t, s, func(tx store.Tx) error { return tx.Sessions().Create(ctx, &ses) })
		var got *charging.Session
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Sessions().Get(ctx, "ses_1"); return })
		if got.TxNo != 77 || got.CostMinor == nil || *got.CostMinor != 1234 || !got.StartedAt.Equal(now) {
			t.Fatalf("session fields lost in the round trip: %+v", got)
		}
		dup := ses
		dup.ID = "ses_2"
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.Sessions().Create(ctx, &dup) }); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate transaction: want Conflict, got %v", err)
		}
	})
	t.Run("a session found by start key carries its held-back update", func(t *testing.T) {
		ses := charging.Session{ID: "ses_sk", StationID: "CP-S", EVSENo: 1, TxRef: "tx-sk", StartKey: "CP-S|1|k", Kind: charging.KindCharge, Status: charging.Active, StartedAt: now, UpdatedAt: now}
		mustTx(t, s, func(tx store.Tx) error { return tx.Sessions().Create(ctx, &ses) })
		mustTx(t, s, func(tx store.Tx) error {
			got, err := tx.Sessions().Get(ctx, "ses_sk")
			if err != nil {
				return err
			}
			got.EnergyWh = 4200
			if err := tx.Sessions().Update(ctx, got); err != nil {
				return err
			}
			again, err := tx.SessionByStartKey(ctx, "CP-S", "CP-S|1|k")
			if err != nil || again.ID != "ses_sk" || again.EnergyWh != 4200 {
				t.Errorf("by start key after an update in the transaction: %+v %v", again, err)
			}
			if _, err := tx.SessionByStartKey(ctx, "CP-S", "CP-S|1|none"); !errs.Is(err, errs.NotFound) {
				t.Errorf("unknown start key: %v", err)
			}
			if _, err := tx.SessionByStartKey(ctx, "CP-T", "CP-S|1|k"); !errs.Is(err, errs.NotFound) {
				t.Errorf("another station's start key: %v", err)
			}
			if _, err := tx.SessionByStartKey(ctx, "CP-S", ""); !errs.Is(err, errs.NotFound) {
				t.Errorf("empty start key: %v", err)
			}
			return nil
		})
	})
	t.Run("readings batch and order", func(t *testing.T) {
		var rs []charging.Reading
		for i := 0; i < 205; i++ { // more than one multi-row statement
			rs = append(rs, charging.Reading{SessionID: "ses_1", StationID: "CP-S", EVSENo: 1, At: now.Add(time.Duration(204-i) * time.Second), Measurand: charging.EnergyImport, Unit: "Wh", Milli: int64(i) * 1000})
		}
		mustTx(t, s, func(tx store.Tx) error { return tx.AddReadings(ctx, rs) })
		var got []charging.Reading
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Readings(ctx, "ses_1"); return })
		if len(got) != 205 || !got[0].At.Equal(now) || got[0].Milli != 204000 || got[204].Milli != 0 {
			t.Fatalf("readings: %d, first %+v", len(got), got[0])
		}
	})
	t.Run("late status never overwrites live status", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.AddStatus(ctx, charging.StatusChange{StationID: "CP-S", EVSENo: 1, ConnectorNo: 1, Status: "Charging", At: now.Add(time.Minute)}); err != nil {
				return err
			}
			return tx.AddStatus(ctx, charging.StatusChange{StationID: "CP-S", EVSENo: 1, ConnectorNo: 1, Status: "Preparing", At: now})
		})
		var live []charging.StatusChange
		mustView(t, s, func(tx store.Tx) (err error) { live, err = tx.LiveStatus(ctx, "CP-S"); return })
		if len(live) != 1 || live[0].Status != "Charging" {
			t.Fatalf("live = %+v", live)
		}
	})
	t.Run("a session read by transaction is what was committed last", func(t *testing.T) {
		// SQLite serves active sessions from a cache: it must hold exactly what committed.
		ses := charging.Session{ID: "ses_c", StationID: "CP-S", EVSENo: 1, TxRef: "tx-c", Kind: charging.KindCharge, Status: charging.Active, StartedAt: now, UpdatedAt: now}
		mustTx(t, s, func(tx store.Tx) error { return tx.Sessions().Create(ctx, &ses) })
		update := func(fail bool, f func(*charging.Session)) error {
			return s.InTx(ctx, func(tx store.Tx) error {
				v, err := tx.SessionByTx(ctx, "CP-S", "tx-c")
				if err != nil {
					return err
				}
				f(v)
				if err := tx.Sessions().Update(ctx, v); err != nil {
					return err
				}
				if fail {
					return errors.New("rolled back")
				}
				return nil
			})
		}
		read := func() *charging.Session {
			var v *charging.Session
			mustTx(t, s, func(tx store.Tx) (err error) { v, err = tx.SessionByTx(ctx, "CP-S", "tx-c"); return })
			return v
		}
		if err := update(false, func(v *charging.Session) { v.EnergyWh = 100 }); err != nil {
			t.Fatal(err)
		}
		if err := update(true, func(v *charging.Session) { v.EnergyWh = 999 }); err == nil {
			t.Fatal("the failed transaction committed")
		}
		v := read()
		if v.EnergyWh != 100 {
			t.Fatalf("energy %d after a rolled-back update, want 100", v.EnergyWh)
		}
		v.EnergyWh = 555 // a caller's change, never stored
		if v := read(); v.EnergyWh != 100 {
			t.Fatalf("energy %d: a caller's copy changed the stored session", v.EnergyWh)
		}
		stop := now.Add(time.Hour)
		if err := update(false, func(v *charging.Session) { v.Status, v.StoppedAt, v.EnergyWh = charging.Completed, &stop, 150 }); err != nil {
			t.Fatal(err)
		}
		for _, v := range []*charging.Session{read(), func() (v *charging.Session) {
			mustView(t, s, func(tx store.Tx) (err error) { v, err = tx.SessionByTx(ctx, "CP-S", "tx-c"); return })
			return
		}()} {
			if v.Status != charging.Completed || v.EnergyWh != 150 || v.StoppedAt == nil {
				t.Fatalf("ended session read back as %+v", v)
			}
		}
	})
	t.Run("many session updates in one transaction", func(t *testing.T) {
		// Updates are written together at the end: sessions changing the same columns share
		// a statement, and a read in the transaction sees every update before it.
		var ids []string
		mustTx(t, s, func(tx store.Tx) error {
			for i := range 6 {
				v := charging.Session{ID: fmt.Sprintf("ses_m%d", i), StationID: "CP-S", EVSENo: 1, TxRef: fmt.Sprintf("tx-m%d", i), Kind: charging.KindCharge,
					Status: charging.Active, StartedAt: now, UpdatedAt: now}
				ids = append(ids, v.ID)
				if err := tx.Sessions().Create(ctx, &v); err != nil {
					return err
				}
			}
			return nil
		})
		stop := now.Add(time.Hour)
		want := map[string]charging.Session{}
		mustTx(t, s, func(tx store.Tx) error {
			st0, _ := sqlstore.Counts()
			for i, id := range ids {
				v, err := tx.SessionByTx(ctx, "CP-S", fmt.Sprintf("tx-m%d", i))
				if err != nil {
					return err
				}
				v.EnergyWh, v.UpdatedAt = int64(100*(i+1)), now.Add(time.Minute)
				if i >= 4 { // two end: status, stop time and cost change too
					cost := int64(1000 + i)
					v.Status, v.StoppedAt, v.CostMinor, v.Currency = charging.Completed, &stop, &cost, "EUR"
				}
				if err := tx.Sessions().Update(ctx, v); err != nil {
					return err
				}
				if i == 0 { // a second update of the same session changes another column
					v.AccountID = "acc_late"
					if err := tx.Sessions().Update(ctx, v); err != nil {
						return err
					}
				}
				want[id] = *v
			}
			// Reading a session by transaction id writes no other session's held-back update
			// (at most a look-up each), so the batch's updates still go out together.
			if st1, _ := sqlstore.Counts(); st1-st0 > int64(len(ids)) {
				t.Errorf("%d statements for %d look-ups and held-back updates", st1-st0, len(ids))
			}
			// A session read again sees its own held-back updates.
			again, err := tx.SessionByTx(ctx, "CP-S", "tx-m0")
			if err != nil || again.AccountID != "acc_late" || again.EnergyWh != 100 {
				t.Errorf("session read again in its transaction: %+v %v", again, err)
			}
			got, _, err := tx.Sessions().List(ctx, store.Query{Filter: map[string]string{"station_id": "CP-S", "status": charging.Completed}, Limit: 100})
			if err != nil {
				return err
			}
			n := 0
			for _, g := range got {
				if _, ok := want[g.ID]; ok {
					n++
				}
			}
			if n != 2 {
				t.Errorf("the transaction lists %d of its 2 ended sessions", n)
			}
			return nil
		})
		mustView(t, s, func(tx store.Tx) error {
			for _, id := range ids {
				g, err := tx.Sessions().Get(ctx, id)
				if err != nil {
					return err
				}
				w := want[id]
				if g.EnergyWh != w.EnergyWh || g.Status != w.Status || g.AccountID != w.AccountID || (w.CostMinor != nil) != (g.CostMinor != nil) ||
					(w.CostMinor != nil && *g.CostMinor != *w.CostMinor) || !g.UpdatedAt.Equal(w.UpdatedAt) {
					t.Errorf("%s stored as %+v, want %+v", id, g, w)
				}
			}
			// The columns moved with the document: filters find the sessions by them.
			got, _, err := tx.Sessions().List(ctx, store.Query{Filter: map[string]string{"account_id": "acc_late"}, Limit: 10})
			if err != nil || len(got) != 1 || got[0].ID != ids[0] {
				t.Errorf("by account: %v %v", got, err)
			}
			return nil
		})
	})
	t.Run("held-back readings and status are read back in their transaction", func(t *testing.T) {
		// Readings and status reports are written at the end of a transaction; the
		// transaction itself still reads them, and a rolled-back one writes none.
		r := charging.Reading{SessionID: "ses_1", StationID: "CP-S", EVSENo: 1, At: now.Add(time.Hour), Measurand: charging.EnergyImport, Unit: "Wh", Milli: 999}
		mustTx(t, s, func(tx store.Tx) error {
			before, err := tx.Readings(ctx, "ses_1")
			if err != nil {
				return err
			}
			if err := tx.AddReadings(ctx, []charging.Reading{r}); err != nil {
				return err
			}
			after, err := tx.Readings(ctx, "ses_1")
			if err != nil {
				return err
			}
			if len(after) != len(before)+1 || after[len(after)-1].Milli != 999 {
				t.Errorf("readings in the transaction: %d then %d", len(before), len(after))
			}
			// Two reports of one connector at one time: the later call is the live status,
			// as when each is applied on its own; another connector keeps its own.
			for _, c := range []charging.StatusChange{
				{StationID: "CP-S", EVSENo: 1, ConnectorNo: 1, Status: "SuspendedEV", At: now.Add(2 * time.Minute)},
				{StationID: "CP-S", EVSENo: 2, ConnectorNo: 1, Status: "Faulted", At: now.Add(time.Minute)},
				{StationID: "CP-S", EVSENo: 1, ConnectorNo: 1, Status: "SuspendedEVSE", At: now.Add(2 * time.Minute)},
			} {
				if err := tx.AddStatus(ctx, c); err != nil {
					return err
				}
			}
			live, err := tx.LiveStatus(ctx, "CP-S")
			if err != nil {
				return err
			}
			if len(live) != 2 || live[0].Status != "SuspendedEVSE" || live[1].Status != "Faulted" {
				t.Errorf("live status in the transaction: %+v", live)
			}
			return nil
		})
		boom := errors.New("boom")
		if err := s.InTx(ctx, func(tx store.Tx) error {
			_ = tx.AddReadings(ctx, []charging.Reading{r})
			_ = tx.AddStatus(ctx, charging.StatusChange{StationID: "CP-S", EVSENo: 1, ConnectorNo: 1, Status: "Finishing", At: now.Add(time.Hour)})
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("rolled back: %v", err)
		}
		var got []charging.Reading
		var live []charging.StatusChange
		mustView(t, s, func(tx store.Tx) (err error) {
			if got, err = tx.Readings(ctx, "ses_1"); err != nil {
				return err
			}
			live, err = tx.LiveStatus(ctx, "CP-S")
			return err
		})
		n := 0
		for _, g := range got {
			if g.Milli == 999 {
				n++
			}
		}
		if n != 1 || len(live) != 2 || live[0].Status != "SuspendedEVSE" {
			t.Fatalf("after the rollback: %d readings of 999, live %+v", n, live)
		}
	})
	t.Run("reading a session's readings writes nothing held back", func(t *testing.T) {
		// A rated session end reads its session's readings in the middle of a batch: that
		// read must not write the batch's held-back readings and status reports (a batch of
		// stops wrote them in as many pieces as it had stops). What it returns is what a read
		// after the commit returns: stored ones and held-back ones in time order, times as
		// stored (microseconds, UTC).
		base := now.Add(2 * time.Hour)
		stored := charging.Reading{SessionID: "ses_r", StationID: "CP-S", EVSENo: 1, At: base, Measurand: charging.EnergyImport, Unit: "Wh", Milli: 1000}
		mustTx(t, s, func(tx store.Tx) error { return tx.AddReadings(ctx, []charging.Reading{stored}) })
		held := []charging.Reading{
			{SessionID: "ses_r", StationID: "CP-S", EVSENo: 1, At: base.Add(2*time.Minute + 1500*time.Nanosecond), Measurand: charging.EnergyImport, Unit: "Wh", Milli: 3000},
			{SessionID: "ses_other", StationID: "CP-S", EVSENo: 2, At: base.Add(time.Minute), Measurand: charging.EnergyImport, Unit: "Wh", Milli: 7},
			{SessionID: "ses_r", StationID: "CP-S", EVSENo: 1, At: base.Add(time.Minute).In(time.FixedZone("x", 3600)), Measurand: charging.EnergyImport, Unit: "Wh", Milli: 2000},
		}
		var inTx []charging.Reading
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.AddReadings(ctx, held); err != nil {
				return err
			}
			if err := tx.AddStatus(ctx, charging.StatusChange{StationID: "CP-S", EVSENo: 1, ConnectorNo: 1, Status: "Charging", At: base}); err != nil {
				return err
			}
			st0, _ := sqlstore.Counts()
			var err error
			if inTx, err = tx.Readings(ctx, "ses_r"); err != nil {
				return err
			}
			if st1, _ := sqlstore.Counts(); st1-st0 != 1 {
				t.Errorf("reading a session's readings ran %d statements, want the one query", st1-st0)
			}
			return nil
		})
		var after []charging.Reading
		mustView(t, s, func(tx store.Tx) (err error) { after, err = tx.Readings(ctx, "ses_r"); return })
		if len(inTx) != 3 || inTx[0].Milli != 1000 || inTx[1].Milli != 2000 || inTx[2].Milli != 3000 {
			t.Fatalf("in the transaction: %+v", inTx)
		}
		if !reflect.DeepEqual(inTx, after) {
			t.Fatalf("in the transaction %+v\nafter the commit %+v", inTx, after)
		}
	})
	t.Run("1.6 transaction numbers are unique", func(t *testing.T) {
		seen := map[int64]bool{}
		for i := 0; i < 5; i++ {
			var n int64
			mustTx(t, s, func(tx store.Tx) (err error) { n, err = tx.NextTransactionNo(ctx); return })
			if n <= 0 || seen[n] {
				t.Fatalf("transaction number %d (seen %v)", n, seen)
			}
			seen[n] = true
		}
	})
	t.Run("counters increment", func(t *testing.T) {
		var a, b int64
		mustTx(t, s, func(tx store.Tx) (err error) { a, err = tx.Next(ctx, "tx16"); return })
		mustTx(t, s, func(tx store.Tx) (err error) { b, err = tx.Next(ctx, "tx16"); return })
		if a != 1 || b != 2 {
			t.Fatalf("counter %d, %d", a, b)
		}
	})
}

func mustTx(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func mustView(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// allPages lists q page after page by its cursors, each page in a read transaction of its own,
// and fails after maxPages pages.
func allPages[T any](t *testing.T, s store.Store, q store.Query, maxPages int, list func(store.Tx, store.Query) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	for range maxPages {
		var page []T
		var next string
		mustView(t, s, func(tx store.Tx) (err error) { page, next, err = list(tx, q); return })
		all = append(all, page...)
		if next == "" {
			return all
		}
		q.Cursor = next
	}
	t.Fatalf("%+v: more than %d pages", q, maxPages)
	return nil
}
