package sqlstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

var (
	ledgerEntrySpec = &listSpec{noun: "ledger entries", id: "e.id", desc: true,
		times:  []field{{name: "created_at", col: "e.created_at"}},
		sorts:  []field{{name: "created_at", col: "e.created_at"}, {name: "amount", col: "e.amount"}},
		amount: &amountCols{col: "e.amount", currency: "e.currency"}}
	ledgerTxSpec = &listSpec{noun: "ledger transactions", id: "t.id", desc: true,
		times: []field{{name: "created_at", col: "t.created_at"}},
		sorts: []field{{name: "created_at", col: "t.created_at"}}}
	// The amount of a transaction is that of its entry on the account filtered by.
	ledgerTxAmount = &listSpec{noun: "ledger transactions", amount: &amountCols{col: "amount", currency: "currency"}}
)

// Entries lists an account's entries, newest first (ids are time-ordered), or in q.Sort.
func (l ledger) Entries(ctx context.Context, accountID string, q store.Query) ([]account.LedgerEntry, string, error) {
	if err := l.t.flushLedger(ctx); err != nil {
		return nil, "", err
	}
	limit := pageLimit(q)
	if len(q.Filter) > 0 {
		for k := range q.Filter {
			return nil, "", errs.Field(k, "cannot filter ledger entries by %s", k)
		}
	}
	p, err := planList(ledgerEntrySpec, q)
	if err != nil {
		return nil, "", err
	}
	sqlq := "SELECT e.id, e.tx_id, e.account_id, e.amount, e.currency, e.created_at, t.kind, t.ref"
	if c := p.sortCol(); c != "" {
		sqlq += ", " + c
	}
	sqlq += " FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.tx_id WHERE " +
		strings.Join(append([]string{"e.account_id = ?"}, p.where...), " AND ") + p.orderBy() + " LIMIT ?"
	args := append(append([]any{accountID}, p.args...), limit+1)
	rows, err := l.t.q.QueryContext(ctx, l.t.db.rebind(sqlq), args...)
	if err != nil {
		return nil, "", l.t.db.mapErr("ledger entries", err)
	}
	defer rows.Close()
	out, next, err := readPage(p, rows, limit, func(sv any) (account.LedgerEntry, error) {
		var e account.LedgerEntry
		var at int64
		err := scanRow(rows, sv, &e.ID, &e.TxID, &e.AccountID, &e.Amount, &e.Currency, &at, &e.Kind, &e.Memo)
		e.At = time.UnixMicro(at).UTC()
		return e, err
	}, func(e *account.LedgerEntry) string { return e.ID })
	return out, next, l.t.db.mapErr("ledger entries", err)
}

// Transactions lists ledger transactions, newest first or in q.Sort. Filters: kind, ref,
// account_id; an amount range needs account_id (it bounds that account's entry).
func (l ledger) Transactions(ctx context.Context, q store.Query) ([]account.LedgerTx, string, error) {
	if err := l.t.flushLedger(ctx); err != nil {
		return nil, "", err
	}
	limit := pageLimit(q)
	amounts := q
	q.MinAmount, q.MaxAmount = "", ""
	p, err := planList(ledgerTxSpec, q)
	if err != nil {
		return nil, "", err
	}
	var where []string
	var args []any
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range q.Filter {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		v := q.Filter[k]
		switch k {
		case "kind", "ref":
			where, args = append(where, "t."+k+" = ?"), append(args, v)
		case "account_id":
			// The account's entries, with the amount range when one is given.
			ap := &listPlan{sp: ledgerTxAmount}
			if err := ap.amountRange(amounts); err != nil {
				return nil, "", err
			}
			where = append(where, "t.id IN (SELECT tx_id FROM ledger_entries WHERE "+strings.Join(append([]string{"account_id = ?"}, ap.where...), " AND ")+")")
			args = append(append(args, v), ap.args...)
		default:
			return nil, "", errs.Field(k, "cannot filter ledger transactions by %s (filters: kind, ref, account_id)", k)
		}
	}
	if _, ok := q.Filter["account_id"]; !ok && (amounts.MinAmount != "" || amounts.MaxAmount != "") {
		param := "min_amount"
		if amounts.MinAmount == "" {
			param = "max_amount"
		}
		return nil, "", store.BadQuery(param, "an amount range on ledger transactions needs account_id")
	}
	where, args = append(where, p.where...), append(args, p.args...)
	sqlq := "SELECT t.data"
	if c := p.sortCol(); c != "" {
		sqlq += ", " + c
	}
	sqlq += " FROM ledger_transactions t"
	if len(where) > 0 {
		sqlq += " WHERE " + strings.Join(where, " AND ")
	}
	sqlq += p.orderBy() + " LIMIT ?"
	args = append(args, limit+1)
	rows, err := l.t.q.QueryContext(ctx, l.t.db.rebind(sqlq), args...)
	if err != nil {
		return nil, "", l.t.db.mapErr("ledger transactions", err)
	}
	defer rows.Close()
	out, next, err := readPage(p, rows, limit, func(sv any) (account.LedgerTx, error) {
		var data string
		if err := scanRow(rows, sv, &data); err != nil {
			return account.LedgerTx{}, err
		}
		return decodeLedgerTx(data)
	}, func(lt *account.LedgerTx) string { return lt.ID })
	return out, next, l.t.db.mapErr("ledger transactions", err)
}
