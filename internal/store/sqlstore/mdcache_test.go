package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestMasterDataCache checks that cached master data is never stale: two stores opened on one
// database play two nodes (or a node and a CLI command); what one writes, the other reads in
// its next transaction, on both engines.
func TestMasterDataCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			dsn := o.DSN(t)
			a := open(t, dsn)
			b := open(t, dsn)
			site := asset.Site{ID: "site_c", SiteFields: asset.SiteFields{Name: "Cache", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
			st := asset.Station{ID: "CP-C", StationFields: asset.StationFields{SiteID: "site_c", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now, PasswordHash: "h1"}
			acc := account.Account{ID: "acc_c", Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
			tok := account.IdToken{ID: "tok_c", IdTokenFields: account.IdTokenFields{UID: "UID-C", Type: "ISO14443", AccountID: "acc_c", Status: account.Active}, CreatedAt: now, UpdatedAt: now}
			write(t, a, func(tx store.Tx) error {
				return errors.Join(tx.Sites().Create(ctx, &site), tx.Stations().Create(ctx, &st), tx.Accounts().Create(ctx, &acc), tx.IdTokens().Create(ctx, &tok))
			})

			stationOf := func(s store.Store) (got *asset.Station) {
				t.Helper()
				read(t, s, func(tx store.Tx) (err error) { got, err = tx.Stations().Get(ctx, "CP-C"); return })
				return got
			}
			tokenOf := func(s store.Store) (got *account.IdToken) {
				t.Helper()
				read(t, s, func(tx store.Tx) (err error) { got, err = tx.IdTokens().GetBy(ctx, "uid", "UID-C"); return })
				return got
			}

			t.Run("a write by another node is seen by the next transaction", func(t *testing.T) {
				if got := stationOf(a); got.Firmware != "" || got.PasswordHash != "h1" {
					t.Fatalf("first read: %+v", got)
				}
				stationOf(a) // now from the cache
				write(t, b, func(tx store.Tx) error {
					s, err := tx.Stations().Get(ctx, "CP-C")
					if err != nil {
						return err
					}
					s.Firmware, s.PasswordHash = "2.0", "h2"
					return tx.Stations().Update(ctx, s)
				})
				if got := stationOf(a); got.Firmware != "2.0" || got.PasswordHash != "h2" {
					t.Fatalf("after the other node's update: firmware %q password %q, want 2.0 h2", got.Firmware, got.PasswordHash)
				}
			})

			t.Run("a blocked token is refused at once", func(t *testing.T) {
				if got := tokenOf(a); got.Status != account.Active {
					t.Fatalf("token %+v", got)
				}
				tokenOf(a)
				write(t, b, func(tx store.Tx) error {
					tk, err := tx.IdTokens().GetBy(ctx, "uid", "UID-C")
					if err != nil {
						return err
					}
					tk.Status = account.Blocked
					return tx.IdTokens().Update(ctx, tk)
				})
				if got := tokenOf(a); got.Status != account.Blocked {
					t.Fatalf("status %q after blocking, want %q", got.Status, account.Blocked)
				}
			})

			t.Run("a transaction reads its own writes", func(t *testing.T) {
				write(t, a, func(tx store.Tx) error {
					s, err := tx.Stations().Get(ctx, "CP-C")
					if err != nil {
						return err
					}
					s.Model = "in-tx"
					if err := tx.Stations().Update(ctx, s); err != nil {
						return err
					}
					again, err := tx.Stations().Get(ctx, "CP-C")
					if err != nil {
						return err
					}
					if again.Model != "in-tx" {
						t.Errorf("read after write in one transaction: model %q", again.Model)
					}
					return nil
				})
			})

			t.Run("a rolled-back write leaves nothing behind", func(t *testing.T) {
				boom := errors.New("boom")
				err := a.InTx(ctx, func(tx store.Tx) error {
					s, err := tx.Stations().Get(ctx, "CP-C")
					if err != nil {
						return err
					}
					s.Model = "rolled-back"
					if err := tx.Stations().Update(ctx, s); err != nil {
						return err
					}
					if _, err := tx.Stations().Get(ctx, "CP-C"); err != nil {
						return err
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Fatalf("InTx: %v", err)
				}
				for _, s := range []store.Store{a, b} {
					if got := stationOf(s); got.Model != "in-tx" {
						t.Fatalf("model %q after a rollback, want in-tx", got.Model)
					}
				}
			})

			t.Run("a lookup that found nothing finds the record once it exists", func(t *testing.T) {
				q := store.Query{Filter: map[string]string{"station_id": "CP-C", "evse_no": "1"}, Limit: 1}
				list := func(s store.Store) (items []asset.EVSE) {
					t.Helper()
					read(t, s, func(tx store.Tx) (err error) { items, _, err = tx.EVSEs().List(ctx, q); return })
					return items
				}
				if got := list(a); len(got) != 0 {
					t.Fatalf("before: %+v", got)
				}
				list(a)
				e := asset.EVSE{ID: "evse_c", EVSEFields: asset.EVSEFields{StationID: "CP-C", EVSENo: 1}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
				write(t, b, func(tx store.Tx) error { return tx.EVSEs().Create(ctx, &e) })
				if got := list(a); len(got) != 1 || got[0].ID != "evse_c" {
					t.Fatalf("after create: %+v", got)
				}
			})

			t.Run("a tariff's latest version and status follow changes", func(t *testing.T) {
				latest := func(s store.Store) (got *billing.TariffRecord) {
					t.Helper()
					read(t, s, func(tx store.Tx) (err error) { got, err = tx.Tariffs().Latest(ctx, "tar_c"); return })
					return got
				}
				v1 := billing.TariffRecord{ID: "tar_c", Version: 1, Currency: "EUR", Status: billing.TariffActive, Tariff: []byte(`{"v":1}`), CreatedAt: now, UpdatedAt: now}
				write(t, a, func(tx store.Tx) error { return tx.Tariffs().Add(ctx, &v1) })
				latest(a)
				v2 := v1
				v2.Version, v2.Tariff = 2, []byte(`{"v":2}`)
				write(t, b, func(tx store.Tx) error { return tx.Tariffs().Add(ctx, &v2) })
				if got := latest(a); got.Version != 2 {
					t.Fatalf("latest version %d, want 2", got.Version)
				}
				write(t, b, func(tx store.Tx) error { return tx.Tariffs().SetStatus(ctx, "tar_c", "inactive") })
				if got := latest(a); got.Status != "inactive" {
					t.Fatalf("status %q after SetStatus, want inactive", got.Status)
				}
			})

			t.Run("what a caller changes in a cached record stays with it", func(t *testing.T) {
				kw := energy.KW(250_000)
				s2 := asset.Site{ID: "site_m", SiteFields: asset.SiteFields{Name: "Mut", TimeZone: "UTC", Address: &asset.Address{City: "Delft"}, GridLimitKW: &kw},
					Status: asset.Active, CreatedAt: now, UpdatedAt: now}
				write(t, a, func(tx store.Tx) error { return tx.Sites().Create(ctx, &s2) })
				site := func() (got *asset.Site) {
					t.Helper()
					read(t, a, func(tx store.Tx) (err error) { got, err = tx.Sites().Get(ctx, "site_m"); return })
					return got
				}
				for range 3 { // the first read fills the cache, the others are hits
					got := site()
					if got.Address == nil || got.Address.City != "Delft" || got.GridLimitKW == nil || *got.GridLimitKW != kw || got.Name != "Mut" {
						t.Fatalf("site %+v", got)
					}
					got.Address.City, *got.GridLimitKW, got.Name = "changed", 1, "changed"
				}
				tar := func() (got *billing.TariffRecord) {
					t.Helper()
					read(t, a, func(tx store.Tx) (err error) { got, err = tx.Tariffs().Latest(ctx, "tar_c"); return })
					return got
				}
				for range 3 {
					got := tar()
					if string(got.Tariff) != `{"v":2}` {
						t.Fatalf("tariff %s", got.Tariff)
					}
					got.Tariff[1] = 'X'
				}
			})

			t.Run("a pending settlement is seen by the next session end", func(t *testing.T) {
				pending := func(s store.Store, station string) (has bool) {
					t.Helper()
					read(t, s, func(tx store.Tx) (err error) { has, err = tx.Invoices().HasPendingSettlements(ctx, station); return })
					return has
				}
				if pending(a, "CP-C") || pending(a, "CP-C") { // the second answer is the kept one
					t.Fatal("pending settlement before any")
				}
				set := billing.Settlement{ID: "stl_c", StationID: "CP-C", TransactionID: "7", PspRef: "psp-1", PaymentStatus: "Settled",
					Outcome: billing.SettlementPending, CreatedAt: now, UpdatedAt: now}
				write(t, b, func(tx store.Tx) error {
					if err := tx.Invoices().AddSettlement(ctx, &set); err != nil {
						return err
					}
					has, err := tx.Invoices().HasPendingSettlements(ctx, "CP-C") // its own write, not yet committed
					if err == nil && !has {
						t.Error("the writing transaction does not see its pending settlement")
					}
					return err
				})
				if !pending(a, "CP-C") || pending(a, "CP-OTHER") {
					t.Fatal("another node's pending settlement: not seen, or seen at the wrong station")
				}
				set.Outcome = billing.SettlementMatched
				write(t, b, func(tx store.Tx) error { return tx.Invoices().UpdateSettlement(ctx, &set) })
				if pending(a, "CP-C") {
					t.Fatal("a reconciled settlement still reads as pending")
				}
			})

			t.Run("an unknown token is not looked up again until one is registered", func(t *testing.T) {
				lookup := func(s store.Store) (tok *account.IdToken, statements int64, err error) {
					t.Helper()
					before, _ := sqlstore.Counts()
					err = s.View(ctx, func(tx store.Tx) (err error) { tok, err = tx.IdTokens().GetBy(ctx, "uid", "UID-NEW"); return })
					after, _ := sqlstore.Counts()
					return tok, after - before, err
				}
				_, first, err := lookup(a)
				if !errs.Is(err, errs.NotFound) {
					t.Fatalf("first look-up: %v, want NotFound", err)
				}
				_, again, err := lookup(a)
				if !errs.Is(err, errs.NotFound) {
					t.Fatalf("second look-up: %v, want NotFound", err)
				}
				if again != first-1 { // the versions only, not the token's row again
					t.Fatalf("the second look-up ran %d statements, the first %d: want one fewer", again, first)
				}
				nt := account.IdToken{ID: "tok_new", IdTokenFields: account.IdTokenFields{UID: "UID-NEW", Type: "ISO14443", AccountID: "acc_c", Status: account.Active}, CreatedAt: now, UpdatedAt: now}
				write(t, b, func(tx store.Tx) error { return tx.IdTokens().Create(ctx, &nt) })
				if got, _, err := lookup(a); err != nil || got.ID != "tok_new" {
					t.Fatalf("after another node registered it: %+v, %v", got, err)
				}
			})

			t.Run("not found stays not found", func(t *testing.T) {
				err := a.View(ctx, func(tx store.Tx) error { _, err := tx.Accounts().Get(ctx, "acc_none"); return err })
				if !errs.Is(err, errs.NotFound) {
					t.Fatalf("got %v, want NotFound", err)
				}
			})
		})
	}
}

func open(t *testing.T, dsn string) store.Store {
	t.Helper()
	s, err := storetest.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func write(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}
