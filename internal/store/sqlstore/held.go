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
// functions again alone, and the failing one's own flush reports it.
type heldRows struct {
	rows map[string][]any
}

// put holds back row (table.row) as the new row id; a second row with the same id in one
// transaction is a Conflict at once, as its insert was.
func (h *heldRows) put(op, id string, row []any) error {
	if _, ok := h.rows[id]; ok {
		return &errs.Error{Kind: errs.Conflict, Op: op, Msg: "already exists"}
	}
	if h.rows == nil {
		h.rows = make(map[string][]any)
	}
	h.rows[id] = row
	return nil
}

// has tells whether the row id is held back.
func (h *heldRows) has(id string) bool {
	_, ok := h.rows[id]
	return ok
}

// replace changes a held-back row before it is written (an update of a row this transaction
// created).
func (h *heldRows) replace(id string, row []any) { h.rows[id] = row }

// flush inserts the held-back rows: head is the table's insertHead, op names the insert in
// errors.
func (h *heldRows) flush(ctx context.Context, t *tx, op, head string) error {
	if len(h.rows) == 0 {
		return nil
	}
	rows := h.rows
	h.rows = nil
	ids := slices.Sorted(maps.Keys(rows))
	return t.execRows(ctx, op, head, "", len(rows[ids[0]]), len(ids), func(args []any, i int) []any {
		return append(args, rows[ids[i]]...)
	})
}
