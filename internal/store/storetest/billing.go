package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
)

// runBilling covers the ledger and tariff versions. It needs acc_1 (from Run).
func runBilling(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)
	sys := account.Account{ID: "sys_cash_EUR", Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
	mustTx(t, s, func(tx store.Tx) error { return tx.Accounts().Create(ctx, &sys) })
	topup := func(key string, amt int64) *account.LedgerTx {
		return &account.LedgerTx{IdemKey: key, Kind: "topup", At: now, Entries: []account.LedgerEntry{
			{AccountID: "acc_1", Amount: amt, Currency: "EUR"}, {AccountID: "sys_cash_EUR", Amount: -amt, Currency: "EUR"}}}
	}
	t.Run("post is idempotent by key", func(t *testing.T) {
		var posted1, posted2 bool
		var first, second *account.LedgerTx
		mustTx(t, s, func(tx store.Tx) (err error) { first, posted1, err = tx.Ledger().Post(ctx, topup("k1", 5000)); return })
		mustTx(t, s, func(tx store.Tx) (err error) { second, posted2, err = tx.Ledger().Post(ctx, topup("k1", 9999)); return })
		if !posted1 || posted2 || second.ID != first.ID || second.Entries[0].Amount != 5000 {
			t.Fatalf("posted %v/%v, first %s second %+v", posted1, posted2, first.ID, second)
		}
		var bal int64
		mustView(t, s, func(tx store.Tx) (err error) { bal, err = tx.Balance(ctx, "acc_1"); return })
		if bal != 5000 {
			t.Fatalf("balance %d, want 5000", bal)
		}
	})
	t.Run("unbalanced is refused and nothing is written", func(t *testing.T) {
		bad := topup("k2", 100)
		bad.Entries[1].Amount = -99
		err := s.InTx(ctx, func(tx store.Tx) error { _, _, err := tx.Ledger().Post(ctx, bad); return err })
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("want Invalid, got %v", err)
		}
		err = s.View(ctx, func(tx store.Tx) error { _, err := tx.Ledger().ByKey(ctx, "k2"); return err })
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("refused posting was stored: %v", err)
		}
	})
	t.Run("entries page newest first and the ledger checks out", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			for _, k := range []string{"k3", "k4", "k5"} {
				if _, _, err := tx.Ledger().Post(ctx, topup(k, 100)); err != nil {
					return err
				}
			}
			return nil
		})
		all := allPages(t, s, store.Query{Limit: 3}, 10, func(tx store.Tx, q store.Query) ([]account.LedgerEntry, string, error) {
			return tx.Ledger().Entries(ctx, "acc_1", q)
		})
		if len(all) != 4 || all[0].Amount != 100 || all[3].Amount != 5000 || all[0].Kind != "topup" {
			t.Fatalf("entries = %+v", all)
		}
		var bad []string
		mustView(t, s, func(tx store.Tx) (err error) { bad, err = tx.Ledger().Check(ctx); return })
		if len(bad) != 0 {
			t.Fatalf("ledger check: %v", bad)
		}
		var txs []account.LedgerTx
		mustView(t, s, func(tx store.Tx) (err error) {
			txs, _, err = tx.Ledger().Transactions(ctx, store.Query{Filter: map[string]string{"account_id": "acc_1", "kind": "topup"}})
			return
		})
		if len(txs) != 4 || txs[0].IdemKey != "k5" {
			t.Fatalf("transactions = %d, first %+v", len(txs), txs[0])
		}
	})
	t.Run("postings are read back in their transaction", func(t *testing.T) {
		// Entries and balances are written at the end of a transaction; the transaction
		// reads its own postings, and a rolled-back one leaves no trace.
		var before int64
		mustView(t, s, func(tx store.Tx) (err error) { before, err = tx.Balance(ctx, "acc_1"); return })
		mustTx(t, s, func(tx store.Tx) error {
			for _, k := range []string{"k6", "k7"} {
				if _, _, err := tx.Ledger().Post(ctx, topup(k, 30)); err != nil {
					return err
				}
			}
			bal, err := tx.Balance(ctx, "acc_1")
			if err != nil {
				return err
			}
			es, _, err := tx.Ledger().Entries(ctx, "acc_1", store.Query{Limit: 2})
			if err != nil {
				return err
			}
			if err := tx.Ledger().Lock(ctx, "acc_1"); err != nil {
				return err
			}
			locked, err := tx.Balance(ctx, "acc_1")
			if err != nil {
				return err
			}
			if bal != before+60 || locked != bal || len(es) != 2 || es[0].Amount != 30 {
				t.Errorf("in the transaction: balance %d, locked %d (want %d), entries %+v", bal, locked, before+60, es)
			}
			// A posting after the lock moves the balance the transaction answers.
			if _, _, err := tx.Ledger().Post(ctx, topup("k8", 5)); err != nil {
				return err
			}
			if bal, err := tx.Balance(ctx, "acc_1"); err != nil || bal != before+65 {
				t.Errorf("after a posting under the lock: %d %v, want %d", bal, err, before+65)
			}
			// Locking again (a start locks at authorization and again for its hold) keeps it.
			if err := tx.Ledger().Lock(ctx, "acc_1"); err != nil {
				return err
			}
			if bal, err := tx.Balance(ctx, "acc_1"); err != nil || bal != before+65 {
				t.Errorf("after locking again: %d %v, want %d", bal, err, before+65)
			}
			return nil
		})
		boom := errors.New("boom")
		if err := s.InTx(ctx, func(tx store.Tx) error {
			_, _, _ = tx.Ledger().Post(ctx, topup("k9", 1000))
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("rolled back: %v", err)
		}
		var after int64
		var bad []string
		mustView(t, s, func(tx store.Tx) (err error) {
			if after, err = tx.Balance(ctx, "acc_1"); err != nil {
				return err
			}
			bad, err = tx.Ledger().Check(ctx)
			return err
		})
		if after != before+65 || len(bad) != 0 {
			t.Fatalf("balance %d, want %d; ledger check %v", after, before+65, bad)
		}
		if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Ledger().ByKey(ctx, "k9"); return err }); !errs.Is(err, errs.NotFound) {
			t.Fatalf("rolled-back posting: %v", err)
		}
	})
	t.Run("postings by reference, in their transaction too", func(t *testing.T) {
		// ByRef reads a session's postings (hold, then capture) with their entries, including
		// one posted earlier in the same transaction, whose entries are not yet written.
		post := func(tx store.Tx, key, kind string, at time.Time, amt int64) error {
			lt := topup(key, amt)
			lt.Kind, lt.Ref, lt.At = kind, "ses_ref1", at
			_, _, err := tx.Ledger().Post(ctx, lt)
			return err
		}
		mustTx(t, s, func(tx store.Tx) error { return post(tx, "hold:ses_ref1", "hold", now, 40) })
		mustTx(t, s, func(tx store.Tx) error {
			if err := post(tx, "capture:ses_ref1", "capture", now.Add(time.Minute), 25); err != nil {
				return err
			}
			got, err := tx.Ledger().ByRef(ctx, "ses_ref1")
			if err != nil {
				return err
			}
			if len(got) != 2 || got[0].IdemKey != "hold:ses_ref1" || got[1].IdemKey != "capture:ses_ref1" ||
				len(got[1].Entries) != 2 || got[1].Entries[0].Amount != 25 || got[1].Entries[0].AccountID != "acc_1" {
				t.Errorf("by ref in the transaction: %+v", got)
			}
			return nil
		})
		var none []account.LedgerTx
		mustView(t, s, func(tx store.Tx) (err error) { none, err = tx.Ledger().ByRef(ctx, "ses_nothing"); return })
		if len(none) != 0 {
			t.Fatalf("unknown ref: %+v", none)
		}
	})
	t.Run("ended sessions' report facts: held back, read back, counted once", func(t *testing.T) {
		fact := func(id string, wh int64) store.SessionFact {
			return store.SessionFact{SessionID: id, StationID: "CP-REP", AccountID: "acc_rep", Currency: "EUR", Kind: "charge",
				StartedAt: now, StoppedAt: now.Add(time.Hour), EnergyWh: wh, DurationS: 3600, PowerW: wh}
		}
		q := store.ReportQuery{From: now.Add(-time.Hour), To: now.Add(2 * time.Hour)}
		sessions := func(tx store.Tx, dim string) (n, wh int64, err error) {
			q.Dim = dim
			aggs, err := tx.Reports().SessionSums(ctx, q)
			for _, a := range aggs {
				n, wh = n+a.Sessions, wh+a.EnergyWh
			}
			return n, wh, err
		}
		mustTx(t, s, func(tx store.Tx) error {
			// The same session twice in one transaction (a replayed stop in the batch) counts once.
			for _, f := range []store.SessionFact{fact("ses_rep1", 1000), fact("ses_rep1", 1000), fact("ses_rep2", 500)} {
				if err := tx.Reports().AddSessions(ctx, []store.SessionFact{f}); err != nil {
					return err
				}
			}
			if n, wh, err := sessions(tx, report.Purchaser); err != nil || n != 2 || wh != 1500 {
				t.Errorf("read back in the transaction: %d sessions, %d Wh, %v; want 2, 1500", n, wh, err)
			}
			return nil
		})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.Reports().AddSessions(ctx, []store.SessionFact{fact("ses_rep1", 1000)})
		})
		for _, dim := range []string{report.Purchaser, report.Station} { // raw facts, then the rollups
			var n, wh int64
			mustView(t, s, func(tx store.Tx) (err error) { n, wh, err = sessions(tx, dim); return })
			if n != 2 || wh != 1500 {
				t.Errorf("by %s after a replayed end: %d sessions, %d Wh; want 2, 1500", dim, n, wh)
			}
		}
	})
	t.Run("a CDR reads back in the transaction that created it, and after a change", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			rec := billing.CDRRecord{ID: "cdr_rb", SessionID: "ses_rb", StationID: "CP-RB", Currency: "EUR", TotalMinor: 489,
				CreatedAt: now, CDR: []byte(`{"total_cost":{"excl_vat":4.11}}`)}
			if err := tx.CDRs().Create(ctx, &rec); err != nil {
				return err
			}
			got, err := tx.CDRs().Get(ctx, "cdr_rb")
			if err != nil || got.TotalMinor != 489 || string(got.CDR) != string(rec.CDR) || got.SessionID != "ses_rb" {
				t.Errorf("read back in the transaction: %+v %v", got, err)
				return err
			}
			got.TotalMinor = 500
			if err := tx.CDRs().Update(ctx, got); err != nil {
				return err
			}
			if again, err := tx.CDRs().Get(ctx, "cdr_rb"); err != nil || again.TotalMinor != 500 {
				t.Errorf("after an update in the transaction: %+v %v", again, err)
			}
			return nil
		})
		var got *billing.CDRRecord
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.CDRs().Get(ctx, "cdr_rb"); return })
		if got.TotalMinor != 500 {
			t.Fatalf("committed: %+v", got)
		}
	})
	t.Run("tariff versions", func(t *testing.T) {
		v1 := billing.TariffRecord{ID: "tar_1", Version: 1, Currency: "EUR", Status: billing.TariffActive, Tariff: []byte(`{"v":1}`), CreatedAt: now, UpdatedAt: now}
		v2 := v1
		v2.Version, v2.Tariff = 2, []byte(`{"v":2}`)
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.Tariffs().Add(ctx, &v1); err != nil {
				return err
			}
			return tx.Tariffs().Add(ctx, &v2)
		})
		var latest, first *billing.TariffRecord
		mustView(t, s, func(tx store.Tx) (err error) {
			if latest, err = tx.Tariffs().Latest(ctx, "tar_1"); err != nil {
				return err
			}
			first, err = tx.Tariffs().Version(ctx, "tar_1", 1)
			return
		})
		if latest.Version != 2 || string(latest.Tariff) != `{"v":2}` || string(first.Tariff) != `{"v":1}` {
			t.Fatalf("latest %+v first %+v", latest, first)
		}
		var list []billing.TariffRecord
		mustView(t, s, func(tx store.Tx) (err error) { list, _, err = tx.Tariffs().List(ctx, store.Query{}); return })
		if len(list) != 1 || list[0].Version != 2 {
			t.Fatalf("list = %+v", list)
		}
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.Tariffs().Add(ctx, &v2) })
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate version: %v", err)
		}

		// Tariffs list by id, or by when their latest version was made, over a range of it.
		for i, at := range []time.Time{now.Add(3 * time.Hour), now.Add(time.Hour), now.Add(2 * time.Hour)} {
			r := billing.TariffRecord{ID: fmt.Sprintf("tar_r%d", i), Version: 1, Currency: "EUR", Status: billing.TariffActive, Tariff: []byte(`{}`), CreatedAt: at, UpdatedAt: at}
			mustTx(t, s, func(tx store.Tx) error { return tx.Tariffs().Add(ctx, &r) })
		}
		var ids []string
		for _, r := range allPages(t, s, store.Query{Sort: "-updated_at", From: now.Add(30 * time.Minute), Limit: 2}, 10,
			func(tx store.Tx, q store.Query) ([]billing.TariffRecord, string, error) {
				return tx.Tariffs().List(ctx, q)
			}) {
			ids = append(ids, r.ID)
		}
		if fmt.Sprint(ids) != "[tar_r0 tar_r2 tar_r1]" {
			t.Fatalf("tariffs since now+30m, newest first, in pages of 2: %v", ids)
		}
		for _, q := range []store.Query{{Sort: "name"}, {MinAmount: "1"}, {Filter: map[string]string{"site_id": "x"}}} {
			err := s.View(ctx, func(tx store.Tx) error { _, _, err := tx.Tariffs().List(ctx, q); return err })
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("%+v: %v, want Invalid", q, err)
			}
		}
	})
}
