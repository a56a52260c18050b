package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestFlushPipelined: on PostgreSQL a write transaction's end sends what it held back (readings,
// status reports, postings, entries, balances) as one pipeline, six statements in one round
// trip, and all of it is stored; on SQLite, which has no pipeline, the same statements run one
// by one with the same result. A statement that fails in the pipeline fails the transaction
// with its kind, whether the engine refused it (an entry for an account that does not exist:
// Invalid) or its outcome did (a key committed meanwhile: Conflict), and nothing of the
// transaction stays, not even the statements queued before the failing one.
func TestFlushPipelined(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := s.(*sqlstore.DB)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		createAccounts(t, s, now, "acc_pipe", "sys_cash_EUR")
		posting := func(key, acc string, amt int64) *account.LedgerTx {
			return &account.LedgerTx{IdemKey: key, Kind: "topup", At: now, Entries: []account.LedgerEntry{
				{AccountID: acc, Amount: amt, Currency: "EUR"}, {AccountID: "sys_cash_EUR", Amount: -amt, Currency: "EUR"}}}
		}
		// hold holds back, for session ses, two readings, a status report of connector
		// conn and the postings.
		hold := func(tx store.Tx, ses string, conn int, ps ...*account.LedgerTx) error {
			tx.DeferPostings()
			rs := []charging.Reading{
				{SessionID: ses, StationID: "ST-PIPE", EVSENo: 1, At: now, Measurand: "Energy.Active.Import.Register", Unit: "Wh", Milli: 1000},
				{SessionID: ses, StationID: "ST-PIPE", EVSENo: 1, At: now.Add(time.Minute), Measurand: "Energy.Active.Import.Register", Unit: "Wh", Milli: 2000},
			}
			if err := tx.AddReadings(ctx, rs); err != nil {
				return err
			}
			if err := tx.AddStatus(ctx, charging.StatusChange{StationID: "ST-PIPE", EVSENo: 1, ConnectorNo: conn, Status: "Charging", At: now}); err != nil {
				return err
			}
			for _, p := range ps {
				if _, _, err := tx.Ledger().Post(ctx, p); err != nil {
					return err
				}
			}
			return nil
		}
		stored := func(ses string) (readings, statuses int, bal int64) {
			t.Helper()
			must(s.View(ctx, func(tx store.Tx) error {
				rs, err := tx.Readings(ctx, ses)
				if err != nil {
					return err
				}
				st, err := tx.LiveStatus(ctx, "ST-PIPE")
				if err != nil {
					return err
				}
				bal, err = tx.Balance(ctx, "acc_pipe")
				readings, statuses = len(rs), len(st)
				return err
			}))
			return readings, statuses, bal
		}

		sizes, restore := db.CountPipelines()
		defer restore()
		must(s.InTx(ctx, func(tx store.Tx) error {
			return hold(tx, "ses_pipe1", 1, posting("topup:pipe1", "acc_pipe", 500), posting("topup:pipe2", "acc_pipe", 70))
		}))
		want := []int{6} // readings, status history, live status, postings, entries, balance
		if s.Dialect() == "sqlite" {
			want = nil
		}
		if !slices.Equal(*sizes, want) {
			t.Fatalf("pipelines sent (statements each): %v, want %v", *sizes, want)
		}
		if r, st, bal := stored("ses_pipe1"); r != 2 || st != 1 || bal != 570 {
			t.Fatalf("stored: %d readings, %d live statuses, balance %d; want 2, 1, 570", r, st, bal)
		}

		// The engine refuses an entry (its account does not exist): Invalid, and the
		// readings and status queued before it are gone with the transaction.
		err := s.InTx(ctx, func(tx store.Tx) error {
			return hold(tx, "ses_pipe2", 2, posting("topup:pipe3", "acc_nobody", 5))
		})
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("an entry for an account that does not exist: %v, want Invalid", err)
		}
		if r, st, bal := stored("ses_pipe2"); r != 0 || st != 1 || bal != 570 {
			t.Fatalf("after the refused entry: %d readings, %d live statuses, balance %d; want 0, 1, 570", r, st, bal)
		}

		// A key committed before: the postings' statement inserts fewer rows than it holds,
		// its outcome fails the transaction with Conflict, and again nothing stays.
		err = s.InTx(ctx, func(tx store.Tx) error {
			return hold(tx, "ses_pipe3", 3, posting("topup:pipe4", "acc_pipe", 9), posting("topup:pipe1", "acc_pipe", 500))
		})
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("a key committed before: %v, want Conflict", err)
		}
		if r, st, bal := stored("ses_pipe3"); r != 0 || st != 1 || bal != 570 {
			t.Fatalf("after the conflict: %d readings, %d live statuses, balance %d; want 0, 1, 570", r, st, bal)
		}
	})
}

// createAccounts creates active EUR accounts with the ids.
func createAccounts(t *testing.T, s store.Store, now time.Time, ids ...string) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		for _, id := range ids {
			a := account.Account{ID: id, Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
			if err := tx.Accounts().Create(context.Background(), &a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPipelinePanic: a panic while a pipeline's outcomes are read (a bug in a Done) reaches
// the caller, the transaction rolls back, and the connection comes back clean: the store's
// next transactions, every one of its pooled connections included, still work.
func TestPipelinePanic(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := s.(*sqlstore.DB)
		done := func(int64, error) error { return nil }
		boom := func(int64, error) error { panic("boom") }
		var got any
		sent := true
		func() {
			defer func() { got = recover() }()
			var err error
			sent, err = db.SendInTx(ctx, []sqlstore.PipeItem{
				{SQL: "INSERT INTO counters (name, value) VALUES ('pipe_panic', 1)", Done: done},
				{SQL: "SELECT 1", Done: boom},
				{SQL: "SELECT 2", Done: done},
			})
			if sent {
				t.Errorf("sending returned (%v) instead of panicking", err)
			}
		}()
		if !sent {
			return // SQLite: no pipeline
		}
		if got != "boom" {
			t.Fatalf("recovered %v, want the Done's panic", got)
		}
		for i := 0; i < 40; i++ { // more than the pool's connections
			if _, err := db.SendInTx(ctx, []sqlstore.PipeItem{{SQL: "SELECT 1", Done: done}}); err != nil {
				t.Fatalf("transaction %d after the panic: %v", i, err)
			}
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM counters WHERE name = 'pipe_panic'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("the panicked transaction's insert: %d rows, %v; want rolled back", n, err)
		}
	})
}

// TestPipelineUnderTransactionContext: a pipeline goes under its transaction's context, as
// every statement of the transaction does, whatever context the statement that sends it was
// called with. In a batch, one message's context can end while the others' statements still
// run: here a statement called with an ended context sends the queued plan-by-key setting
// first (PostgreSQL), and the transaction still commits.
func TestPipelineUnderTransactionContext(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ended, cancel := context.WithCancel(ctx)
		cancel()
		pipes, restore := s.(*sqlstore.DB).CountPipelines()
		defer restore()
		var got int64
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.KeyedOnly(ctx); err != nil {
				return err
			}
			var err error
			got, err = tx.Next(ended, "pipe-context")
			return err
		})
		if err != nil || got != 1 {
			t.Fatalf("a statement called with an ended context after a queued one: %d, %v; want 1, nil", got, err)
		}
		if want := map[string][]int{"postgres": {1}}[s.Dialect()]; !slices.Equal(*pipes, want) {
			t.Fatalf("pipelines sent: %v, want %v", *pipes, want)
		}
	})
}
