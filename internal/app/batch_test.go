package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
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
