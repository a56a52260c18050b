package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// writers is how many goroutines post at once.
const writers = 16

// BenchmarkLedgerPostings measures top-ups (one balanced posting each, through the whole use
// case: key check, payment provider, account lock, posting, balance) from 16 concurrent
// goroutines, each topping up accounts of its own, on SQLite and PostgreSQL. It reports
// postings/s and fails unless CheckLedger passes afterwards.
//
//	EVCS_TEST_POSTGRES=postgres://… go test ./internal/app -run '^$' -bench LedgerPostings -benchtime 20000x
func BenchmarkLedgerPostings(b *testing.B) {
	for _, o := range storetest.Openers() {
		b.Run(o.Name, func(b *testing.B) {
			dsn := o.DSN(b) // skips the PostgreSQL half, saying why, when EVCS_TEST_POSTGRES is unset
			s, err := storetest.Open(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			tm := &timings{}
			a := app.New(timedStore{s, tm}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			defer a.Close()
			ctx := app.WithActor(context.Background(), app.Actor{UserID: "bench", Role: "operator"})

			// Four accounts per writer: postings to one account are serialised by design, so a
			// writer cycles through its own.
			accounts := make([]string, writers*4)
			for i := range accounts {
				u, err := app.Create(context.Background(), a, app.Users, app.UserInput{UserFields: benchUser(i)})
				if err != nil {
					b.Fatal(err)
				}
				accounts[i] = u.AccountID
			}
			// warm up: the cash account exists before the clock starts
			if _, err := a.TopUp(ctx, accounts[0], app.TopUpInput{Amount: "1.00", Method: "counter"}, "warm"); err != nil {
				b.Fatal(err)
			}
			tm.reset()
			var worker, seq atomic.Int64
			b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				w := int(worker.Add(1) - 1)
				n := 0
				for pb.Next() {
					acc := accounts[(w*4+n%4)%len(accounts)]
					n++
					key := strconv.FormatInt(seq.Add(1), 10)
					if _, err := a.TopUp(ctx, acc, app.TopUpInput{Amount: "0.50", Method: "counter"}, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "postings/s")
			tm.report(b)
			if err := a.CheckLedger(context.Background()); err != nil {
				b.Fatalf("ledger check after the benchmark: %v", err)
			}
		})
	}
}

func benchUser(i int) (f account.UserFields) {
	f.Name, f.Email, f.Role = fmt.Sprintf("Bench %d", i), fmt.Sprintf("bench%d@example.com", i), "purchaser"
	return f
}

// Where the time goes: the mean latency per top-up of each phase, measured by wrapping the
// store. "view" is the read-only transaction checking the key and the account before the
// payment provider is asked; "begin+commit" is the write transaction's own cost (including
// waiting for the WAL flush); "lock", "balance" and "post" are the statements of the posting.
type timings struct{ view, txOwn, lock, balance, post atomic.Int64 }

func (t *timings) reset() {
	for _, v := range []*atomic.Int64{&t.view, &t.txOwn, &t.lock, &t.balance, &t.post} {
		v.Store(0)
	}
}

func (t *timings) report(b *testing.B) {
	for _, m := range []struct {
		name string
		v    *atomic.Int64
	}{{"view", &t.view}, {"begin+commit", &t.txOwn}, {"lock", &t.lock}, {"balance", &t.balance}, {"post", &t.post}} {
		b.ReportMetric(float64(m.v.Load())/float64(b.N)/1e3, m.name+"-µs/op")
	}
}

func since(v *atomic.Int64, start time.Time) { v.Add(int64(time.Since(start))) }

type timedStore struct {
	store.Store
	t *timings
}

func (s timedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	defer since(&s.t.view, time.Now())
	return s.Store.View(ctx, fn)
}

func (s timedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	var inFn time.Duration
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		t0 := time.Now()
		err := fn(timedTx{tx, s.t})
		inFn += time.Since(t0)
		return err
	})
	s.t.txOwn.Add(int64(time.Since(start) - inFn))
	return err
}

type timedTx struct {
	store.Tx
	t *timings
}

func (x timedTx) Next(ctx context.Context, name string) (int64, error) {
	defer since(&x.t.lock, time.Now())
	return x.Tx.Next(ctx, name)
}

func (x timedTx) Balance(ctx context.Context, id string) (int64, error) {
	defer since(&x.t.balance, time.Now())
	return x.Tx.Balance(ctx, id)
}

func (x timedTx) Ledger() store.Ledger { return timedLedger{x.Tx.Ledger(), x.t} }

type timedLedger struct {
	store.Ledger
	t *timings
}

func (l timedLedger) Post(ctx context.Context, lt *account.LedgerTx) (*account.LedgerTx, bool, error) {
	defer since(&l.t.post, time.Now())
	return l.Ledger.Post(ctx, lt)
}
