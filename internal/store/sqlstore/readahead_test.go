package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestReadAheadForEnding: PrefetchSessions reads what ending its Ending sessions reads (their
// readings, their postings, their accounts' balances under lock) in a statement each, and the
// transaction then answers Readings, ByRef, Balance and Lock for them without a statement.
// What the transaction writes afterwards (readings and postings, held back or written out
// mid-transaction, or posted at once) shows in those answers exactly once and in the table's
// order, which is what the table holds after the commit. A session rated before, one not
// marked Ending and one the transaction cannot name are left to their own look-ups, and so are
// the readings of a session with no tariff (not rated) and the postings and account of one
// not paid from an account.
func TestReadAheadForEnding(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		posting := func(key, acc, ref string, at time.Time, amt int64) *account.LedgerTx {
			return &account.LedgerTx{IdemKey: key, Kind: "topup", Ref: ref, At: at, Entries: []account.LedgerEntry{
				{AccountID: acc, Amount: amt, Currency: "EUR"}, {AccountID: "sys_cash_EUR", Amount: -amt, Currency: "EUR"}}}
		}
		reading := func(ses, station string, at time.Time, wh int64) charging.Reading {
			return charging.Reading{SessionID: ses, StationID: station, EVSENo: 1, At: at, Measurand: charging.EnergyImport, Unit: "Wh", Milli: wh * 1000}
		}
		var refs []store.SessionRef
		write(t, s, func(tx store.Tx) error {
			site := asset.Site{ID: "site_ra", SiteFields: asset.SiteFields{Name: "RA", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
			err := tx.Sites().Create(ctx, &site)
			for _, id := range []string{"acc_ra0", "acc_ra1", "acc_ra3", "sys_cash_EUR"} {
				a := account.Account{ID: id, Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
				err = errors.Join(err, tx.Accounts().Create(ctx, &a))
			}
			for i := range 4 {
				st := asset.Station{ID: fmt.Sprintf("CP-RA%d", i), StationFields: asset.StationFields{SiteID: "site_ra", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
				ses := charging.Session{ID: fmt.Sprintf("ses_ra%d", i), StationID: st.ID, EVSENo: 1, TxRef: fmt.Sprint(200 + i), Kind: charging.KindCharge,
					AccountID: fmt.Sprintf("acc_ra%d", i), TariffID: "trf_ra", AuthStatus: account.AuthAccepted, Status: charging.Active, StartedAt: now, UpdatedAt: now}
				switch i {
				case 1:
					ses.TariffID = "" // not rated: its readings are not read
				case 2:
					ses.AccountID = "" // not paid from an account: no postings, no lock
				case 3:
					ses.CDRID = "cdr_ra3" // rated before: nothing read ahead
				}
				err = errors.Join(err, tx.Stations().Create(ctx, &st), tx.Sessions().Create(ctx, &ses))
				refs = append(refs, store.SessionRef{StationID: st.ID, TxRef: ses.TxRef, Ending: true})
			}
			err = errors.Join(err, tx.AddReadings(ctx, []charging.Reading{
				reading("ses_ra0", "CP-RA0", now.Add(2*time.Minute), 20), reading("ses_ra0", "CP-RA0", now.Add(time.Minute), 10),
				reading("ses_ra1", "CP-RA1", now.Add(time.Minute), 7)}))
			for _, p := range []*account.LedgerTx{posting("topup:ra0", "acc_ra0", "", now, 1000), posting("hold:ses_ra0", "acc_ra0", "ses_ra0", now.Add(time.Minute), 40),
				posting("topup:ra1", "acc_ra1", "", now, 500), posting("topup:ra3", "acc_ra3", "", now, 300)} {
				if _, _, perr := tx.Ledger().Post(ctx, p); perr != nil {
					err = errors.Join(err, perr)
				}
			}
			return err
		})
		// A second, plain ref to the first session and a ref nobody started.
		refs = append(refs, store.SessionRef{StationID: "CP-RA0", TxRef: "200"}, store.SessionRef{StationID: "CP-RA1", TxRef: "999", Ending: true})

		readings := func(tx store.Tx, ses string) []string {
			t.Helper()
			rs, err := tx.Readings(ctx, ses)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rs {
				out = append(out, fmt.Sprintf("%s=%d", r.At.Format("15:04:05"), r.Milli/1000))
			}
			return out
		}
		byRef := func(tx store.Tx, ref string) []string {
			t.Helper()
			lts, err := tx.Ledger().ByRef(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, lt := range lts {
				out = append(out, fmt.Sprintf("%s@%s", lt.IdemKey, lt.At.Format("15:04:05")))
			}
			return out
		}
		balance := func(tx store.Tx, acc string) int64 {
			t.Helper()
			bal, err := tx.Balance(ctx, acc)
			if err != nil {
				t.Fatal(err)
			}
			return bal
		}
		check := func(what string, got, want []string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s: %q, want %q", what, got, want)
			}
		}

		var endReadings, endPosts []string
		pipes, restore := s.(*sqlstore.DB).CountPipelines()
		write(t, s, func(tx store.Tx) error {
			tx.DeferPostings()
			n0 := statements()
			if err := tx.PrefetchSessions(ctx, refs); err != nil {
				return err
			}
			// Sessions (on SQLite only those its writer has not cached: transaction 999, which
			// nobody started), readings, postings, locks; on PostgreSQL also the master-data
			// versions, and all in two round trips: versions and sessions, then what ending
			// the sessions found reads.
			wantStmts, wantPipes := int64(4), []int(nil)
			if s.Dialect() == "postgres" {
				wantStmts, wantPipes = 5, []int{2, 3}
			}
			if got := statements() - n0; got != wantStmts {
				t.Errorf("reading ahead took %d statements, want %d", got, wantStmts)
			}
			if !slices.Equal(*pipes, wantPipes) {
				t.Errorf("reading ahead sent pipelines of %v statements, want %v", *pipes, wantPipes)
			}
			restore()
			n1 := statements()
			check("readings of ses_ra0", readings(tx, "ses_ra0"), []string{"10:01:00=10", "10:02:00=20"})
			check("readings of ses_ra2", readings(tx, "ses_ra2"), nil)
			check("postings of ses_ra0", byRef(tx, "ses_ra0"), []string{"hold:ses_ra0@10:01:00"})
			check("postings of ses_ra1", byRef(tx, "ses_ra1"), nil)
			if b := balance(tx, "acc_ra0"); b != 1040 {
				t.Errorf("balance of acc_ra0: %d, want 1040", b)
			}
			if b := balance(tx, "acc_ra1"); b != 500 {
				t.Errorf("balance of acc_ra1: %d, want 500", b)
			}
			if err := tx.Ledger().Lock(ctx, "acc_ra1"); err != nil {
				return err
			}
			if n := statements() - n1; n != 0 {
				t.Errorf("answers read ahead took %d statements, want 0", n)
			}
			// Not read ahead: ses_ra1's readings (no tariff), ses_ra3 (rated before) and its account.
			n2 := statements()
			check("readings of ses_ra1", readings(tx, "ses_ra1"), []string{"10:01:00=7"})
			check("postings of ses_ra3", byRef(tx, "ses_ra3"), nil)
			if b := balance(tx, "acc_ra3"); b != 300 {
				t.Errorf("balance of acc_ra3: %d, want 300", b)
			}
			if n := statements() - n2; n != 3 {
				t.Errorf("what was not read ahead took %d statements, want 3", n)
			}

			// A reading earlier than the stored ones, held back; then written out mid-transaction.
			if err := tx.AddReadings(ctx, []charging.Reading{reading("ses_ra0", "CP-RA0", now.Add(30*time.Second), 5)}); err != nil {
				return err
			}
			want := []string{"10:00:30=5", "10:01:00=10", "10:02:00=20"}
			check("readings of ses_ra0 with one held back", readings(tx, "ses_ra0"), want)
			if _, err := tx.LiveStatus(ctx, "CP-RA0"); err != nil { // writes the held-back readings
				return err
			}
			n3 := statements()
			check("readings of ses_ra0 after writing them", readings(tx, "ses_ra0"), want)
			if n := statements() - n3; n != 0 {
				t.Errorf("readings after writing them took %d statements, want 0", n)
			}
			endReadings = want

			// A capture held back, before the hold in time order; then written out (Check
			// writes the ledger), and a posting after it, held back again.
			if _, _, err := tx.Ledger().Post(ctx, posting("capture:ses_ra0", "acc_ra0", "ses_ra0", now.Add(30*time.Second), -25)); err != nil {
				return err
			}
			check("postings of ses_ra0 with one held back", byRef(tx, "ses_ra0"), []string{"capture:ses_ra0@10:00:30", "hold:ses_ra0@10:01:00"})
			if _, err := tx.Ledger().Check(ctx); err != nil {
				return err
			}
			check("postings of ses_ra0 after writing them", byRef(tx, "ses_ra0"), []string{"capture:ses_ra0@10:00:30", "hold:ses_ra0@10:01:00"})
			if _, _, err := tx.Ledger().Post(ctx, posting("release:ses_ra0", "acc_ra0", "ses_ra0", now.Add(3*time.Minute), -15)); err != nil {
				return err
			}
			n4 := statements()
			endPosts = []string{"capture:ses_ra0@10:00:30", "hold:ses_ra0@10:01:00", "release:ses_ra0@10:03:00"}
			check("postings of ses_ra0 after writing some", byRef(tx, "ses_ra0"), endPosts)
			if b := balance(tx, "acc_ra0"); b != 1000 {
				t.Errorf("balance of acc_ra0 after the postings: %d, want 1000", b)
			}
			if n := statements() - n4; n != 0 {
				t.Errorf("postings and balance after writing some took %d statements, want 0", n)
			}
			return nil
		})
		read(t, s, func(tx store.Tx) error {
			check("readings of ses_ra0 as committed", readings(tx, "ses_ra0"), endReadings)
			check("postings of ses_ra0 as committed", byRef(tx, "ses_ra0"), endPosts)
			if b := balance(tx, "acc_ra0"); b != 1000 {
				t.Errorf("balance of acc_ra0 as committed: %d, want 1000", b)
			}
			return nil
		})

		// Without DeferPostings a posting is written at once, and shows once too.
		write(t, s, func(tx store.Tx) error {
			if err := tx.PrefetchSessions(ctx, refs[1:2]); err != nil {
				return err
			}
			if _, _, err := tx.Ledger().Post(ctx, posting("hold:ses_ra1", "acc_ra1", "ses_ra1", now, 60)); err != nil {
				return err
			}
			n0 := statements()
			check("postings of ses_ra1 posted at once", byRef(tx, "ses_ra1"), []string{"hold:ses_ra1@10:00:00"})
			if b := balance(tx, "acc_ra1"); b != 560 {
				t.Errorf("balance of acc_ra1: %d, want 560", b)
			}
			if n := statements() - n0; n != 0 {
				t.Errorf("postings and balance after a posting at once took %d statements, want 0", n)
			}
			return nil
		})
		read(t, s, func(tx store.Tx) error {
			check("postings of ses_ra1 as committed", byRef(tx, "ses_ra1"), []string{"hold:ses_ra1@10:00:00"})
			return nil
		})
	})
}

// TestLockKeepsBalance: Ledger().Lock (one account, or several read ahead) answers Balance from
// then on without a statement, counting the postings the transaction holds back; a system
// account's row is locked but its balance is still summed from its entries.
func TestLockKeepsBalance(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		posting := func(key string, amt int64) *account.LedgerTx {
			return &account.LedgerTx{IdemKey: key, Kind: "topup", At: now, Entries: []account.LedgerEntry{
				{AccountID: "acc_lk", Amount: amt, Currency: "EUR"}, {AccountID: "sys_cash_EUR", Amount: -amt, Currency: "EUR"}}}
		}
		write(t, s, func(tx store.Tx) error {
			var err error
			for _, id := range []string{"acc_lk", "sys_cash_EUR"} {
				a := account.Account{ID: id, Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
				err = errors.Join(err, tx.Accounts().Create(ctx, &a))
			}
			_, _, perr := tx.Ledger().Post(ctx, posting("topup:lk1", 300))
			return errors.Join(err, perr)
		})
		write(t, s, func(tx store.Tx) error {
			if _, _, err := tx.Ledger().Post(ctx, posting("topup:lk2", 100)); err != nil { // held back
				return err
			}
			if err := tx.Ledger().Lock(ctx, "acc_lk"); err != nil {
				return err
			}
			n0 := statements()
			if bal, err := tx.Balance(ctx, "acc_lk"); err != nil || bal != 400 {
				t.Errorf("balance after the lock: %d, %v; want 400 (300 stored, 100 held back)", bal, err)
			}
			if n1 := statements(); n1 != n0 {
				t.Errorf("balance after the lock took %d statements, want 0", n1-n0)
			}
			if err := tx.Ledger().Lock(ctx, "sys_cash_EUR"); err != nil {
				return err
			}
			if bal, err := tx.Balance(ctx, "sys_cash_EUR"); err != nil || bal != -400 {
				t.Errorf("system account's balance after its lock: %d, %v; want -400", bal, err)
			}
			return nil
		})
	})
}

// TestReadAheadForNewTransactions: a batch reads ahead, in one statement, the transactions its
// messages name that the transaction does not know (on SQLite: that its writer has not
// cached), and one not stored is then NotFound without a statement: an OCPP 2.x Started event
// asks for its session before creating it. Once the transaction creates that session it finds
// it, before and after writing it.
func TestReadAheadForNewTransactions(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		heldFixture(t, s, now)
		refs := []store.SessionRef{{StationID: "CP-HR0", TxRef: "1"}, {StationID: "CP-HR1", TxRef: "new-a"}, {StationID: "CP-HR2", TxRef: "new-b"},
			{StationID: "CP-HR1", TxRef: "new-a"}}
		write(t, s, func(tx store.Tx) error {
			n0 := statements()
			if err := tx.PrefetchSessions(ctx, refs); err != nil {
				return err
			}
			// PostgreSQL reads the master-data versions in the same round trip.
			if want := map[string]int64{"sqlite": 1, "postgres": 2}[s.Dialect()]; statements()-n0 != want {
				t.Errorf("reading ahead took %d statements, want %d", statements()-n0, want)
			}
			n1 := statements()
			if _, err := tx.SessionByTx(ctx, "CP-HR1", "new-a"); !errs.Is(err, errs.NotFound) {
				t.Errorf("a transaction read ahead as not stored: %v, want NotFound", err)
			}
			if got, err := tx.SessionByTx(ctx, "CP-HR0", "1"); err != nil || got.ID != "ses_hr_old" {
				t.Errorf("a stored transaction: %+v %v", got, err)
			}
			if n := statements() - n1; n != 0 {
				t.Errorf("answers read ahead took %d statements, want 0", n)
			}
			created := heldSession("ses_hr_a", "CP-HR1", "new-a", "", now)
			if err := tx.Sessions().Create(ctx, created); err != nil {
				return err
			}
			if got, err := tx.SessionByTx(ctx, "CP-HR1", "new-a"); err != nil || got.ID != "ses_hr_a" {
				t.Errorf("created after it was read ahead as not stored, held back: %+v %v", got, err)
			}
			if _, _, err := tx.Sessions().List(ctx, store.Query{Limit: 10}); err != nil { // writes the held-back session
				return err
			}
			if got, err := tx.SessionByTx(ctx, "CP-HR1", "new-a"); err != nil || got.ID != "ses_hr_a" {
				t.Errorf("created after it was read ahead as not stored, written: %+v %v", got, err)
			}
			return nil
		})
		// The next batch's writer has CP-HR1's new session cached (SQLite): nothing to read ahead.
		// PostgreSQL reads it.
		write(t, s, func(tx store.Tx) error {
			n0 := statements()
			if err := tx.PrefetchSessions(ctx, []store.SessionRef{{StationID: "CP-HR1", TxRef: "new-a"}}); err != nil {
				return err
			}
			want := map[string]int64{"sqlite": 0, "postgres": 2}[s.Dialect()]
			if n := statements() - n0; n != want {
				t.Errorf("reading ahead a cached session took %d statements, want %d", n, want)
			}
			got, err := tx.SessionByTx(ctx, "CP-HR1", "new-a")
			if err != nil || got.ID != "ses_hr_a" {
				t.Errorf("the committed session: %+v %v", got, err)
			}
			return nil
		})
	})
}

// TestReadAheadForAuthorizing: a read that authorizes a token whose account the master-data
// cache names reads the cache's versions and that account's balance in one statement, and then
// reads the token, the account and the balance with none. When the token has moved to another
// account since the cache loaded it, the versions tell, and the answer is the new account's
// balance. A write transaction reads nothing ahead.
func TestReadAheadForAuthorizing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		heldFixture(t, s, now) // acc_hr0 (TOK-HR0), acc_hr1 (TOK-HR1)
		write(t, s, func(tx store.Tx) error {
			sys := account.Account{ID: "sys_cash_EUR", Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
			err := tx.Accounts().Create(ctx, &sys)
			for acc, amt := range map[string]int64{"acc_hr0": 700, "acc_hr1": 300} {
				_, _, perr := tx.Ledger().Post(ctx, &account.LedgerTx{IdemKey: "topup:" + acc, Kind: "topup", At: now, Entries: []account.LedgerEntry{
					{AccountID: acc, Amount: amt, Currency: "EUR"}, {AccountID: "sys_cash_EUR", Amount: -amt, Currency: "EUR"}}})
				err = errors.Join(err, perr)
			}
			return err
		})
		authorize := func(tx store.Tx) (acc string, bal int64) {
			t.Helper()
			tok, err := tx.IdTokens().GetBy(ctx, "uid", "TOK-HR0")
			if err != nil {
				t.Fatal(err)
			}
			a, err := tx.Accounts().Get(ctx, tok.AccountID)
			if err != nil {
				t.Fatal(err)
			}
			if bal, err = tx.Balance(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			return a.ID, bal
		}
		read(t, s, func(tx store.Tx) error { authorize(tx); return nil }) // the cache loads the token and account
		read(t, s, func(tx store.Tx) error {
			n0 := statements()
			if err := tx.PrefetchToken(ctx, "TOK-HR0"); err != nil {
				return err
			}
			acc, bal := authorize(tx)
			if acc != "acc_hr0" || bal != 700 {
				t.Errorf("authorizing: %s %d, want acc_hr0 700", acc, bal)
			}
			if n := statements() - n0; n != 1 {
				t.Errorf("authorizing with the read-ahead took %d statements, want 1", n)
			}
			return nil
		})
		write(t, s, func(tx store.Tx) error {
			tok, err := tx.IdTokens().GetBy(ctx, "uid", "TOK-HR0")
			if err != nil {
				return err
			}
			tok.AccountID = "acc_hr1"
			return tx.IdTokens().Update(ctx, tok)
		})
		read(t, s, func(tx store.Tx) error {
			if err := tx.PrefetchToken(ctx, "TOK-HR0"); err != nil { // guesses acc_hr0, as cached
				return err
			}
			if acc, bal := authorize(tx); acc != "acc_hr1" || bal != 300 {
				t.Errorf("authorizing a token moved to acc_hr1: %s %d, want acc_hr1 300", acc, bal)
			}
			return nil
		})
		write(t, s, func(tx store.Tx) error {
			n0 := statements()
			err := tx.PrefetchToken(ctx, "TOK-HR0")
			if n := statements() - n0; n != 0 {
				t.Errorf("a write transaction read ahead %d statements, want 0", n)
			}
			return err
		})
	})
}
