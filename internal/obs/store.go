package obs

import (
	"context"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/store"
)

// InstrumentStore wraps a store so that every transaction is timed (evcs_store_tx_duration_seconds)
// and every ledger transaction posted inside a write transaction that then commits is counted
// by kind (evcs_ledger_postings_total). A posting whose transaction rolls back, or whose
// idempotency key was posted before, is not counted. Everything else passes through.
func InstrumentStore(s store.Store) store.Store { return &timedStore{Store: s} }

type timedStore struct{ store.Store }

func (s *timedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	var kinds []string
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		kinds = kinds[:0] // a retried transaction starts over
		return fn(&countingTx{Tx: tx, kinds: &kinds})
	})
	observeTx("write", start, err)
	if err == nil {
		for _, k := range kinds {
			LedgerPostings.WithLabelValues(k).Inc()
		}
	}
	return err
}

func (s *timedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	err := s.Store.View(ctx, fn)
	observeTx("read", start, err)
	return err
}

// Unwrap returns the wrapped store.
func (s *timedStore) Unwrap() store.Store { return s.Store }

func observeTx(kind string, start time.Time, err error) {
	res := "ok"
	if err != nil {
		res = "error"
	}
	StoreTxDuration.WithLabelValues(kind, res).Observe(time.Since(start).Seconds())
}

type countingTx struct {
	store.Tx
	kinds *[]string
}

func (t *countingTx) Ledger() store.Ledger {
	return countingLedger{Ledger: t.Tx.Ledger(), kinds: t.kinds}
}

type countingLedger struct {
	store.Ledger
	kinds *[]string
}

func (l countingLedger) Post(ctx context.Context, lt *account.LedgerTx) (*account.LedgerTx, bool, error) {
	stored, posted, err := l.Ledger.Post(ctx, lt)
	if err == nil && posted {
		kind := lt.Kind
		if kind == "" {
			kind = "other"
		}
		*l.kinds = append(*l.kinds, kind)
	}
	return stored, posted, err
}
