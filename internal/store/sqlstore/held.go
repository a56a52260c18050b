package sqlstore

import (
	"context"
	"maps"
	"slices"

	"github.com/evcs/evcs/internal/errs"
)

// heldRows are new rows of one table that a transaction holds back, by id, to insert them at
// its end (or before it next reads that table) in a few multi-row statements, in id order. A
// batch of session starts or stops then inserts its sessions or CDRs in a statement or two
// rather than a statement each: on PostgreSQL those were a round trip a session each, two in
// five of the writer's statements under the load tool. A unique key already taken fails the
// flush with Conflict, as the insert would have; a batch (app.Batcher) then runs each of its
// functions again alone, and the failing one's own flush reports it. Each method takes the
// table the rows are for.
type heldRows[T any] struct {
	rows map[string][]any
}

// hold holds v back as a new row of tb; a second row with the same id in one transaction is a
// Conflict at once, as its insert was.
func (h *heldRows[T]) hold(tb *table[T], v *T) error {
	row, err := tb.row(v)
	if err != nil {
		return err
	}
	id := *tb.meta(v).ID
	if _, ok := h.rows[id]; ok {
		return &errs.Error{Kind: errs.Conflict, Op: "create " + tb.entity, Msg: "already exists"}
	}
	if h.rows == nil {
		h.rows = make(map[string][]any)
	}
	h.rows[id] = row
	return nil
}

// rehold puts v in place of its row if that is held back (an update of a row this transaction
// created and has not written), and tells whether it was.
func (h *heldRows[T]) rehold(tb *table[T], v *T) (bool, error) {
	id := *tb.meta(v).ID
	if _, ok := h.rows[id]; !ok {
		return false, nil
	}
	row, err := tb.row(v)
	if err != nil {
		return true, err
	}
	h.rows[id] = row
	return true, nil
}

// flush inserts the held-back rows into tb.
func (h *heldRows[T]) flush(ctx context.Context, t *tx, tb *table[T]) error {
	if len(h.rows) == 0 {
		return nil
	}
	rows := h.rows
	h.rows = nil
	ids := slices.Sorted(maps.Keys(rows))
	return t.execRows(ctx, "create "+tb.entity, tb.insertHead(), "", len(tb.insertCols()), len(ids), func(args []any, i int) []any {
		return append(args, rows[ids[i]]...)
	})
}
