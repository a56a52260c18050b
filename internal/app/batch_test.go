package app_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/obs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
	dto "github.com/prometheus/client_model/go"
)

// TestBatcherRetriesALostRace: a function that fails with Conflict (a competing write
// committed first) runs once more and its caller sees the second result; a function that
// conflicts every time still reports the conflict, after exactly one more try.
func TestBatcherRetriesALostRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := app.NewBatcher(s, 1, 8)
		defer b.Close()
		calls := 0
		err := b.Do(context.Background(), func(store.Tx) error {
			calls++
			if calls == 1 {
				return errs.E(errs.Conflict, "lost the race")
			}
			return nil
		})
		if err != nil || calls != 2 {
			t.Fatalf("err %v after %d calls, want nil after 2", err, calls)
		}
		calls = 0
		err = b.Do(context.Background(), func(store.Tx) error { calls++; return errs.E(errs.Conflict, "taken") })
		if !errs.Is(err, errs.Conflict) || calls != 2 {
			t.Fatalf("err %v after %d calls, want Conflict after 2", err, calls)
		}
	})
}

// TestConcurrentDuplicateStart: copies of one StartTransaction arriving at once (a station's
// retry racing its original) all get the one session it opened; none fails.
func TestConcurrentDuplicateStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		acc := f.purchaser("EUR", "", 100000)
		site, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Race", TimeZone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Create(bg, f.a, app.Stations, app.StationInput{ID: "CP-RACE", StationFields: asset.StationFields{SiteID: site.ID, Kind: asset.KindAC}}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Create(bg, f.a, app.IdTokens, account.IdTokenFields{UID: "RACE-1", Type: "ISO14443", AccountID: acc}); err != nil {
			t.Fatal(err)
		}
		in := app.StartInput{StationID: "CP-RACE", EVSENo: 1, IdToken: "RACE-1", MeterStart: 1000, At: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		const n = 8
		ids := make([]string, n)
		errList := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ses, _, err := f.a.StartSession(bg, in)
				errList[i] = err
				if ses != nil {
					ids[i] = ses.ID
				}
			}()
		}
		wg.Wait()
		for i := range n {
			if errList[i] != nil {
				t.Fatalf("copy %d: %v", i, errList[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("copy %d opened session %s, copy 0 %s", i, ids[i], ids[0])
			}
		}
		var count int
		if err := s.View(bg, func(tx store.Tx) error {
			items, _, err := tx.Sessions().List(bg, store.Query{Filter: map[string]string{"station_id": "CP-RACE"}, Limit: 10})
			count = len(items)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if count != 1 {
			t.Fatalf("%d sessions stored, want 1", count)
		}
		f.mustCheck()
	})
}

// batchFigures reads the group commit's histogram (transactions, writes) and fallback count.
func batchFigures(t *testing.T) (txs, writes, fallbacks float64) {
	t.Helper()
	var h, c dto.Metric
	if err := obs.BatchMessages.Write(&h); err != nil {
		t.Fatal(err)
	}
	if err := obs.BatchFallbacks.Write(&c); err != nil {
		t.Fatal(err)
	}
	return float64(h.GetHistogram().GetSampleCount()), h.GetHistogram().GetSampleSum(), c.GetCounter().GetValue()
}

// TestBatchMetrics: writes queued while a batch commits go together in the next transaction,
// and evcs_batch_messages counts it as one transaction of that many writes; a batch that one
// failing write rolls back counts as a fallback, and only its good writes, each alone.
func TestBatchMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := app.NewBatcher(s, 1, 8)
		defer b.Close()
		txs0, writes0, fb0 := batchFigures(t)
		hold, held := make(chan struct{}), make(chan struct{}, 1)
		first := make(chan error, 1)
		go func() {
			first <- b.Do(context.Background(), func(store.Tx) error {
				select {
				case held <- struct{}{}:
				default: // a retry: held was signalled
				}
				<-hold
				return nil
			})
		}()
		<-held // the worker is inside the first batch: what comes now queues
		run := func(n int, fail bool) []chan error {
			out := make([]chan error, n)
			for i := range n {
				out[i] = make(chan error, 1)
				go func() {
					out[i] <- b.Do(context.Background(), func(store.Tx) error {
						if fail && i == 0 {
							return errs.E(errs.Invalid, "bad write")
						}
						return nil
					})
				}()
			}
			return out
		}
		wait := func(n int) {
			for b.Queued() < n {
				runtime.Gosched()
			}
		}
		good := run(5, false)
		wait(5)
		close(hold)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for _, c := range good {
			if err := <-c; err != nil {
				t.Fatal(err)
			}
		}
		txs, writes, fb := batchFigures(t)
		if txs-txs0 != 2 || writes-writes0 != 6 || fb != fb0 {
			t.Fatalf("after 1 + 5 writes: %v transactions of %v writes, %v fallbacks; want 2 of 6, 0", txs-txs0, writes-writes0, fb-fb0)
		}

		hold, held = make(chan struct{}), make(chan struct{}, 1)
		go func() {
			first <- b.Do(context.Background(), func(store.Tx) error {
				select {
				case held <- struct{}{}:
				default:
				}
				<-hold
				return nil
			})
		}()
		<-held
		mixed := run(4, true)
		wait(4)
		close(hold)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, c := range mixed {
			if err := <-c; errs.Is(err, errs.Invalid) {
				failed++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		txs2, writes2, fb2 := batchFigures(t)
		if failed != 1 || txs2-txs != 4 || writes2-writes != 4 || fb2-fb != 1 {
			t.Fatalf("1 + 4 writes, one bad: %d failed, %v transactions of %v writes, %v fallbacks; want 1, 4 of 4, 1", failed, txs2-txs, writes2-writes, fb2-fb)
		}
	})
}

// TestBatchOutlivesACanceledMessage: a message whose context ends while its batch runs (its
// station gone, its deadline past) does not interrupt the statements of the transaction it
// shares with the others: the batch commits whole, with its write too, and falls back to
// nothing. A station that resends the message finds it done (start keys, idempotency keys).
func TestBatchOutlivesACanceledMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := app.NewBatcher(s, 1, 8)
		defer b.Close()
		hold, held := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- b.Do(context.Background(), func(store.Tx) error {
				close(held)
				<-hold
				return nil
			})
		}()
		<-held // the worker is inside the first batch: the next three queue behind it
		_, _, fb0 := batchFigures(t)
		done := make([]chan error, 3)
		for i := range done {
			done[i] = make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				defer cancel()
				done[i] <- b.Do(ctx, func(tx store.Tx) error {
					if i == 0 {
						cancel() // this message's context ends in the middle of its batch
					}
					_, err := tx.Next(ctx, "canceled-message")
					return err
				})
			}()
		}
		for b.Queued() < 3 {
			runtime.Gosched()
		}
		close(hold)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for i := 1; i < 3; i++ {
			if err := <-done[i]; err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		<-done[0] // its caller may see its context's end or the commit: either is right
		if _, _, fb := batchFigures(t); fb != fb0 {
			t.Fatalf("%v batches fell back, want 0", fb-fb0)
		}
		var next int64
		if err := s.InTx(bg, func(tx store.Tx) (err error) { next, err = tx.Next(bg, "canceled-message"); return err }); err != nil {
			t.Fatal(err)
		}
		if next != 4 {
			t.Fatalf("counter after the batch is %d, want 3 (all three writes committed)", next-1)
		}
	})
}

// TestBatchPostingKeyTaken: a batch holds its postings back and writes them at the end. One
// whose idempotency key was posted before (a retry whose first try committed) fails the batch
// there; each write then runs alone, where that posting returns the first one and moves no
// money, and the batch's other postings are made once each.
func TestBatchPostingKeyTaken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		if err := s.InTx(bg, func(tx store.Tx) error {
			for _, id := range []string{"acc_taken", "sys_cash_EUR"} {
				a := account.Account{ID: id, Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
				if err := tx.Accounts().Create(bg, &a); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		posting := func(key string, amt int64) *account.LedgerTx {
			return &account.LedgerTx{IdemKey: key, Kind: "topup", At: now, Entries: []account.LedgerEntry{
				{AccountID: "acc_taken", Amount: amt, Currency: "EUR"}, {AccountID: "sys_cash_EUR", Amount: -amt, Currency: "EUR"}}}
		}
		if err := s.InTx(bg, func(tx store.Tx) error { _, _, err := tx.Ledger().Post(bg, posting("taken", 100)); return err }); err != nil {
			t.Fatal(err)
		}
		b := app.NewBatcher(s, 1, 8)
		defer b.Close()
		hold, held := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- b.Do(bg, func(store.Tx) error {
				select {
				case <-held: // a rerun
				default:
					close(held)
				}
				<-hold
				return nil
			})
		}()
		<-held // the worker is inside the first batch: the next three queue behind it
		_, _, fb0 := batchFigures(t)
		keys := []string{"fresh-1", "taken", "fresh-2"}
		type result struct {
			amount int64
			posted bool
			err    error
		}
		done := make([]chan result, len(keys))
		for i, key := range keys {
			done[i] = make(chan result, 1)
			go func() {
				var r result
				r.err = b.Do(bg, func(tx store.Tx) error {
					lt, posted, err := tx.Ledger().Post(bg, posting(key, 1000))
					if err == nil {
						r.amount, r.posted = lt.Entries[0].Amount, posted
					}
					return err
				})
				done[i] <- r
			}()
		}
		for b.Queued() < len(keys) {
			runtime.Gosched()
		}
		close(hold)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for i, key := range keys {
			r := <-done[i]
			want := result{amount: 1000, posted: true}
			if key == "taken" {
				want = result{amount: 100, posted: false}
			}
			if r != want {
				t.Fatalf("%s: %+v, want %+v", key, r, want)
			}
		}
		if _, _, fb := batchFigures(t); fb-fb0 != 1 {
			t.Fatalf("%v batches fell back, want 1", fb-fb0)
		}
		var bal int64
		if err := s.View(bg, func(tx store.Tx) (err error) { bal, err = tx.Balance(bg, "acc_taken"); return err }); err != nil {
			t.Fatal(err)
		}
		if bal != 2100 {
			t.Fatalf("balance %d, want 2100 (100 posted before, 1000 each for the two fresh keys)", bal)
		}
	})
}
