package app_test

import (
	"testing"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestTopUpsListPostingsWithoutDetails: a top-up posted by a bulk loader (`evcs seed`) carries
// no method or reference; listing it shows the amount and its reference as id, not an error.
func TestTopUpsListPostingsWithoutDetails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		acc := f.purchaser("EUR", "", 0)
		f.topUp(acc, "10.00", "k1")
		if err := s.InTx(bg, func(tx store.Tx) error {
			cash, err := f.a.SystemAccount(bg, tx, app.SysCash, "EUR")
			if err != nil {
				return err
			}
			_, _, err = tx.Ledger().Post(bg, &account.LedgerTx{IdemKey: "seed:1", Kind: app.LedgerTopUp, Ref: "tup_seed_1", At: t0,
				Entries: []account.LedgerEntry{{AccountID: cash, Amount: -2500, Currency: "EUR"}, {AccountID: acc, Amount: 2500, Currency: "EUR"}}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		items, _, err := f.a.TopUps(operator, acc, store.Query{Limit: 10})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(items) != 2 {
			t.Fatalf("%d top-ups, want 2", len(items))
		}
		var seeded *app.TopUp
		for i := range items {
			if items[i].ID == "tup_seed_1" {
				seeded = &items[i]
			}
		}
		if seeded == nil || seeded.Amount.Minor != 2500 {
			t.Fatalf("seeded top-up: %+v", items)
		}
	})
}
