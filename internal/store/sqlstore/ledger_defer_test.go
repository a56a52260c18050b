package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestDeferredPostings: in a transaction with DeferPostings, Post runs no statement; ByKey and
// ByRef see the postings held back (ByRef in the table's order, with one committed before); a
// key held back twice is posted once; at the end four postings take one statement. A key another
// transaction committed fails the whole transaction with Conflict and leaves nothing of it.
func TestDeferredPostings(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			s, err := storetest.Open(ctx, o.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			in := func(fn func(tx store.Tx) error) error { return s.InTx(ctx, fn) }
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			createAccounts(t, s, now, "acc_def", "sys_cash_EUR")
			posting := func(key, ref string, at time.Time, amt int64) *account.LedgerTx {
				return &account.LedgerTx{IdemKey: key, Kind: "topup", Ref: ref, At: at, Entries: []account.LedgerEntry{
					{AccountID: "acc_def", Amount: amt, Currency: "EUR"}, {AccountID: "sys_cash_EUR", Amount: -amt, Currency: "EUR"}}}
			}
			balance := func() (bal int64) {
				t.Helper()
				must(s.View(ctx, func(tx store.Tx) (err error) { bal, err = tx.Balance(ctx, "acc_def"); return err }))
				return bal
			}
			must(in(func(tx store.Tx) error {
				_, _, err := tx.Ledger().Post(ctx, posting("hold:ses_def", "ses_def", now, 40))
				return err
			}))

			var postStmts, flushStmts int64
			must(in(func(tx store.Tx) error {
				tx.DeferPostings()
				st0, _ := sqlstore.Counts()
				// Two minutes on, a minute back: ByRef orders by time, not by when held back.
				if _, posted, err := tx.Ledger().Post(ctx, posting("capture:ses_def", "ses_def", now.Add(2*time.Minute), 25)); err != nil || !posted {
					t.Fatalf("capture: posted %v, %v", posted, err)
				}
				if _, posted, err := tx.Ledger().Post(ctx, posting("note:ses_def", "ses_def", now.Add(time.Minute), 5)); err != nil || !posted {
					t.Fatalf("note: posted %v, %v", posted, err)
				}
				first, _, err := tx.Ledger().Post(ctx, posting("topup:def1", "", now, 1000))
				if err != nil {
					return err
				}
				again, posted, err := tx.Ledger().Post(ctx, posting("topup:def1", "", now, 9999))
				if err != nil || posted || again.ID != first.ID || again.Entries[0].Amount != 1000 {
					t.Fatalf("the key again in the transaction: posted %v, %+v, %v; want the first (1000)", posted, again, err)
				}
				if _, _, err := tx.Ledger().Post(ctx, posting("topup:def3", "", now, 30)); err != nil {
					return err
				}
				st1, _ := sqlstore.Counts()
				postStmts = st1 - st0
				got, err := tx.Ledger().ByKey(ctx, "capture:ses_def")
				if err != nil || got.Entries[0].Amount != 25 {
					t.Fatalf("by key, held back: %+v, %v", got, err)
				}
				refs, err := tx.Ledger().ByRef(ctx, "ses_def")
				if err != nil {
					return err
				}
				var keys []string
				for _, lt := range refs {
					keys = append(keys, lt.IdemKey)
				}
				if len(keys) != 3 || keys[0] != "hold:ses_def" || keys[1] != "note:ses_def" || keys[2] != "capture:ses_def" {
					t.Fatalf("by ref: %v, want hold, note, capture", keys)
				}
				st2, _ := sqlstore.Counts()
				_, err = tx.Ledger().Check(ctx) // a ledger read writes what is held back
				st3, _ := sqlstore.Counts()
				flushStmts = st3 - st2
				return err
			}))
			// The flush: a statement each for the four postings, their eight entries and the one
			// balance they move; then Check's own two queries.
			if postStmts != 0 || flushStmts != 5 {
				t.Fatalf("posting ran %d statements (want 0); writing them and checking ran %d (want 5)", postStmts, flushStmts)
			}
			if bal := balance(); bal != 40+25+5+1000+30 {
				t.Fatalf("balance %d, want %d", bal, 40+25+5+1000+30)
			}
			var bad []string
			must(s.View(ctx, func(tx store.Tx) (err error) { bad, err = tx.Ledger().Check(ctx); return err }))
			if len(bad) != 0 {
				t.Fatalf("ledger check: %v", bad)
			}

			err = in(func(tx store.Tx) error {
				tx.DeferPostings()
				if _, _, err := tx.Ledger().Post(ctx, posting("topup:def2", "", now, 300)); err != nil {
					return err
				}
				_, posted, err := tx.Ledger().Post(ctx, posting("hold:ses_def", "ses_def", now, 70))
				if err == nil && !posted {
					t.Error("a key committed before was found while held back: want it found when written")
				}
				return err
			})
			if !errs.Is(err, errs.Conflict) {
				t.Fatalf("a key committed before, held back: %v, want Conflict", err)
			}
			must(s.View(ctx, func(tx store.Tx) error {
				if _, err := tx.Ledger().ByKey(ctx, "topup:def2"); !errs.Is(err, errs.NotFound) {
					t.Fatalf("the failed transaction's other posting: %v, want NotFound", err)
				}
				return nil
			}))
			if bal := balance(); bal != 1100 {
				t.Fatalf("balance after the conflict %d, want 1100", bal)
			}
		})
	}
}
