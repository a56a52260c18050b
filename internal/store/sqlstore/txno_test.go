package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestTransactionNumbers: OCPP 1.6 transaction ids from two nodes on one database, drawn at
// once, are all different and ascend on each node; a node reopened draws above every id given
// out before. A node draws them a block at a time, one statement for 64 ids: on PostgreSQL from
// the sequence, on SQLite (one node) from its counter row.
func TestTransactionNumbers(t *testing.T) {
	ctx := context.Background()
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			dsn := o.DSN(t)
			open := func() store.Store {
				s, err := storetest.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			nodes := []store.Store{open()}
			if o.Name == "postgres" { // SQLite takes one node
				nodes = append(nodes, open())
			}
			const each, workers = 150, 3 // ids a node draws, in as many batch workers
			drawn := make([][workers][]int64, len(nodes))
			st0, _ := sqlstore.Counts()
			var wg sync.WaitGroup
			for i, s := range nodes {
				for w := range workers {
					wg.Go(func() {
						for range each / workers {
							var n int64
							if err := s.InTx(ctx, func(tx store.Tx) (err error) { n, err = tx.NextTransactionNo(ctx); return err }); err != nil {
								t.Error(err)
								return
							}
							drawn[i][w] = append(drawn[i][w], n)
						}
					})
				}
			}
			wg.Wait()
			st1, _ := sqlstore.Counts()
			seen := map[int64]bool{}
			var top int64
			for i := range drawn {
				for w, ids := range drawn[i] {
					if len(ids) != each/workers || !slices.IsSorted(ids) {
						t.Fatalf("node %d, worker %d drew %v: want %d ids, ascending", i, w, ids, each/workers)
					}
					for _, n := range ids {
						if n <= 0 || seen[n] {
							t.Fatalf("id %d given out twice or not positive", n)
						}
						seen[n] = true
						top = max(top, n)
					}
				}
			}
			stmts, want := st1-st0, int64(len(nodes)*((each+63)/64))
			if stmts != want {
				t.Errorf("%d statements for %d ids, want %d", stmts, len(nodes)*each, want)
			}
			for _, s := range nodes {
				s.Close()
			}
			again := open()
			defer again.Close()
			var n int64
			if err := again.InTx(ctx, func(tx store.Tx) (err error) { n, err = tx.NextTransactionNo(ctx); return err }); err != nil {
				t.Fatal(err)
			}
			if n <= top {
				t.Errorf("reopened, the node drew %d, not above the %d given out before", n, top)
			}
		})
	}
}

// TestTransactionNumbersRolledBack: the ids of a block drawn in a transaction that rolls back
// are not handed out afterwards beside the ones drawn again in their place (on SQLite the
// counter row's move rolls back with the transaction, and the next block is the same ids): the
// next 130 ids, drawn in transactions that commit, are all different.
func TestTransactionNumbersRolledBack(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		errFail := errors.New("roll back")
		if err := s.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.NextTransactionNo(ctx); err != nil {
				return err
			}
			return errFail
		}); !errors.Is(err, errFail) {
			t.Fatalf("rolled-back draw: %v", err)
		}
		seen := map[int64]bool{}
		for range 130 {
			var n int64
			if err := s.InTx(ctx, func(tx store.Tx) (err error) { n, err = tx.NextTransactionNo(ctx); return err }); err != nil {
				t.Fatal(err)
			}
			if seen[n] {
				t.Fatalf("id %d given out twice", n)
			}
			seen[n] = true
		}
	})
}
