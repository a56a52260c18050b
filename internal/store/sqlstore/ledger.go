package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store"
)

type ledger struct{ t *tx }

func (t *tx) Ledger() store.Ledger { return ledger{t} }

// Post inserts a balanced transaction and its entries, once per idempotency key.
func (l ledger) Post(ctx context.Context, lt *account.LedgerTx) (*account.LedgerTx, bool, error) {
	if err := account.CheckBalanced(lt); err != nil {
		return nil, false, err
	}
	if lt.ID == "" {
		lt.ID = ids.New("ltx")
	}
	for i := range lt.Entries {
		e := &lt.Entries[i]
		if e.ID == "" {
			e.ID = ids.New("len")
		}
		e.TxID, e.At, e.Kind = lt.ID, lt.At, lt.Kind
	}
	data, err := json.Marshal(lt)
	if err != nil {
		return nil, false, errs.Wrap("encode ledger transaction", err)
	}
	db := l.t.db
	if l.t.deferPosts {
		// Optimistic (DeferPostings): the key is checked against this transaction's postings
		// now and against the table when they are written (flushLedger).
		if prev := l.t.pendingPost(lt.IdemKey); prev != nil {
			return prev, false, nil
		}
		if l.t.pendPostKeys == nil {
			l.t.pendPostKeys = make(map[string]int)
		}
		l.t.pendPostKeys[lt.IdemKey] = len(l.t.pendPosts)
		l.t.pendPosts = append(l.t.pendPosts, pendingPost{lt: *lt, data: string(data)})
		l.t.holdEntries(lt)
		return lt, true, nil
	}
	// The idempotency key is checked by the insert itself (one statement, not a look-up and an
	// insert): a key posted before inserts nothing, and the first posting is returned.
	res, err := l.t.q.ExecContext(ctx, db.rebind("INSERT INTO ledger_transactions (id, idem_key, kind, created_at, ref, data) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING"),
		lt.ID, lt.IdemKey, lt.Kind, micros(lt.At), lt.Ref, string(data))
	if err != nil {
		return nil, false, db.mapErr("post ledger transaction", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, false, db.mapErr("post ledger transaction", err)
	} else if n == 0 {
		prev, err := l.ByKey(ctx, lt.IdemKey)
		if err != nil {
			return nil, false, err
		}
		return prev, false, nil
	}
	l.t.holdEntries(lt)
	l.t.wrotePost(lt)
	return lt, true, nil
}

// holdEntries holds back a posting's entries and the balances they move. They are written at
// the end of the transaction (or before it next reads either), with every other posting of the
// batch: a batch of session starts and stops then costs a statement or two for them, not two
// each.
func (t *tx) holdEntries(lt *account.LedgerTx) {
	for _, e := range lt.Entries {
		t.pendEntries = append(t.pendEntries, pendingEntry{e.ID, lt.ID, e.AccountID, e.Amount, e.Currency, micros(lt.At)})
		if strings.HasPrefix(e.AccountID, SystemPrefix) {
			continue
		}
		if t.pendBalances == nil {
			t.pendBalances = make(map[string]int64)
		}
		t.pendBalances[e.AccountID] += e.Amount
		if bal, ok := t.locked[e.AccountID]; ok {
			t.locked[e.AccountID] = bal + e.Amount
		}
	}
}

// DeferPostings: see store.Tx.
func (t *tx) DeferPostings() { t.deferPosts = true }

// pendingPost is a posting held back by DeferPostings: the transaction and its stored JSON.
type pendingPost struct {
	lt   account.LedgerTx
	data string
}

// pendingPost returns a copy of the held-back posting with the key, or nil.
func (t *tx) pendingPost(key string) *account.LedgerTx {
	i, ok := t.pendPostKeys[key]
	if !ok {
		return nil
	}
	lt := clonePosting(&t.pendPosts[i].lt)
	return &lt
}

// clonePosting is a copy of lt that shares no entries with it.
func clonePosting(lt *account.LedgerTx) account.LedgerTx {
	c := *lt
	c.Entries = slices.Clone(lt.Entries)
	return c
}

// flushPosts writes the held-back postings, before their entries (which refer to them). A key
// that another transaction posted meanwhile inserts nothing: the transaction then fails with
// Conflict, as each of its postings has been counted on as new.
func (t *tx) flushPosts(ctx context.Context) error {
	ps := t.pendPosts
	t.pendPosts, t.pendPostKeys = nil, nil
	return t.execRowsThen(ctx, "post ledger transactions", "INSERT INTO ledger_transactions (id, idem_key, kind, created_at, ref, data)",
		" ON CONFLICT (idem_key) DO NOTHING", 6, len(ps), func(args []any, i int) []any {
			lt := &ps[i].lt
			return append(args, lt.ID, lt.IdemKey, lt.Kind, micros(lt.At), lt.Ref, ps[i].data)
		}, func(n int64) error {
			if n != int64(len(ps)) {
				return errs.E(errs.Conflict, "post ledger transactions: an idempotency key was posted meanwhile")
			}
			for i := range ps {
				t.wrotePost(&ps[i].lt)
			}
			return nil
		})
}

// SystemPrefix marks system accounts (cash, holds, revenue, …). They take part in nearly every
// posting, so a running-balance row for them would be a lock that every transaction waits on;
// their balance is summed from the entries when asked (only the ledger check asks).
const SystemPrefix = "sys_"

// pendingEntry is a ledger entry held back to the end of its transaction.
type pendingEntry struct {
	id, txID, accountID string
	amount              int64
	currency            string
	at                  int64
}

// flushLedger writes the held-back entries, then adds them to their accounts' running
// balances, one row per account in account order (the order concurrent PostgreSQL batches
// take the rows' locks in).
func (t *tx) flushLedger(ctx context.Context) error {
	if err := t.flushPosts(ctx); err != nil {
		return err
	}
	es := t.pendEntries
	t.pendEntries = nil
	err := t.execRows(ctx, "post ledger entries", "INSERT INTO ledger_entries (id, tx_id, account_id, amount, currency, created_at)", "",
		6, len(es), func(args []any, i int) []any {
			e := &es[i]
			return append(args, e.id, e.txID, e.accountID, e.amount, e.currency, e.at)
		})
	if err != nil || len(t.pendBalances) == 0 {
		return err
	}
	ids := slices.Sorted(maps.Keys(t.pendBalances))
	sums := t.pendBalances
	t.pendBalances = nil
	return t.execRows(ctx, "update balances", "INSERT INTO account_balances (account_id, balance)",
		" ON CONFLICT (account_id) DO UPDATE SET balance = account_balances.balance + excluded.balance",
		2, len(ids), func(args []any, i int) []any { return append(args, ids[i], sums[ids[i]]) })
}

// Lock takes the account's balance row (on PostgreSQL a row lock held until the transaction
// ends, so a balance read and the posting that depends on it cannot be overtaken) and reads the
// balance in the same statement. The transaction then answers Balance for that account without
// asking again, and locking it again costs nothing: the row is its own until the end, and its
// postings keep the figure current.
func (l ledger) Lock(ctx context.Context, accountID string) error {
	if _, ok := l.t.locked[accountID]; ok {
		return nil // locked before in this transaction: the lock holds to its end
	}
	return l.t.lockAccounts(ctx, []string{accountID})
}

// lockAccounts is Lock for several accounts, in one statement per writeRows of them and in
// account order (the order flushLedger takes the same rows in). A system account's row is
// locked but its balance not kept (see SystemPrefix).
func (t *tx) lockAccounts(ctx context.Context, ids []string) error {
	slices.Sort(ids)
	for from := 0; from < len(ids); {
		k := writeRows(len(ids) - from)
		args := make([]any, 0, 2*k)
		for _, id := range ids[from : from+k] {
			args = append(args, id, 0)
		}
		q := valuesSQL("INSERT INTO account_balances (account_id, balance)", k, 2) +
			" ON CONFLICT (account_id) DO UPDATE SET balance = account_balances.balance RETURNING account_id, balance"
		err := t.laterQuery(ctx, "lock accounts", q, args, func(rows rowScanner) error {
			var id string
			var bal int64
			if err := rows.Scan(&id, &bal); err != nil || strings.HasPrefix(id, SystemPrefix) {
				return err
			}
			if t.locked == nil {
				t.locked = make(map[string]int64, len(ids))
			}
			t.locked[id] = bal + t.pendBalances[id] // postings not yet written count
			return nil
		})
		if err != nil {
			return err
		}
		from += k
	}
	return nil
}

func (l ledger) ByKey(ctx context.Context, key string) (*account.LedgerTx, error) {
	if prev := l.t.pendingPost(key); prev != nil {
		return prev, nil
	}
	var data string
	err := l.t.q.QueryRowContext(ctx, l.t.db.rebind("SELECT data FROM ledger_transactions WHERE idem_key = ?"), key).Scan(&data)
	if err != nil {
		if err := l.t.db.mapErr("ledger by key", err); errs.Is(err, errs.NotFound) {
			return nil, errs.E(errs.NotFound, "no ledger transaction with key %q", key)
		} else {
			return nil, err
		}
	}
	lt, err := decodeLedgerTx(data)
	if err != nil {
		return nil, err
	}
	return &lt, nil
}

// decodeLedgerTx reads a ledger_transactions row's data: the transaction with its entries.
func decodeLedgerTx(data string) (account.LedgerTx, error) {
	var lt account.LedgerTx
	if err := json.Unmarshal([]byte(data), &lt); err != nil {
		return lt, errs.Wrap("decode ledger transaction", err)
	}
	return lt, nil
}

// ByRef reads the postings of a reference. Each row holds its transaction whole, entries
// included, and is inserted at once by Post, so the held-back entries need not be written
// first: settling a session asks for its hold on every stop, in the middle of a batch.
func (l ledger) ByRef(ctx context.Context, ref string) ([]account.LedgerTx, error) {
	if out, ok := l.t.aheadPosts(ref); ok {
		return l.t.withHeldPosts(out, ref), nil
	}
	var out []account.LedgerTx
	err := l.t.queryEach(ctx, "ledger by ref", "SELECT data FROM ledger_transactions WHERE ref = ? ORDER BY created_at, id", []any{ref}, func(rows *sql.Rows) error {
		lt, err := scanPosting(rows)
		if err != nil {
			return err
		}
		out = append(out, lt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l.t.withHeldPosts(out, ref), nil
}

// scanPosting reads a ledger_transactions row's data column.
func scanPosting(rows rowScanner) (account.LedgerTx, error) {
	var data string
	if err := rows.Scan(&data); err != nil {
		return account.LedgerTx{}, err
	}
	return decodeLedgerTx(data)
}

// withHeldPosts adds to a reference's stored postings those held back (DeferPostings), in the
// table's order.
func (t *tx) withHeldPosts(out []account.LedgerTx, ref string) []account.LedgerTx {
	held := false
	for i := range t.pendPosts {
		if p := &t.pendPosts[i]; p.lt.Ref == ref {
			out, held = append(out, clonePosting(&p.lt)), true
		}
	}
	if held {
		sortPostings(out)
	}
	return out
}

func pageLimit(q store.Query) int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > 500:
		return 500
	}
	return q.Limit
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", errs.Field("cursor", "not a cursor from this API")
	}
	return string(b), nil
}

// Entries and Transactions are in query_ledger.go, with the other lists.

// Check returns the ids of transactions that do not sum to zero, and "*" when the whole ledger
// does not (which a per-transaction check would already show, unless entries lost their row).
func (l ledger) Check(ctx context.Context) ([]string, error) {
	if err := l.t.flushLedger(ctx); err != nil {
		return nil, err
	}
	rows, err := l.t.q.QueryContext(ctx, "SELECT tx_id FROM ledger_entries GROUP BY tx_id, currency HAVING SUM(amount) <> 0")
	if err != nil {
		return nil, l.t.db.mapErr("ledger check", err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, l.t.db.mapErr("ledger check", err)
		}
		bad = append(bad, id)
	}
	if err := rows.Err(); err != nil {
		return nil, l.t.db.mapErr("ledger check", err)
	}
	var orphans int64
	if err := l.t.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_transactions t WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.tx_id = t.id)").Scan(&orphans); err != nil {
		return nil, l.t.db.mapErr("ledger check", err)
	}
	if orphans > 0 {
		bad = append(bad, "*")
	}
	return bad, nil
}
