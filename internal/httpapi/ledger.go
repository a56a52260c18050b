package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// The prepaid ledger over HTTP: top-ups, the ledger of an account, statements, refunds,
// adjustments, transfers and the ledger check.
//
// Every POST here moves money and needs an Idempotency-Key header (a missing one is a 400 naming
// it). The key is scoped to the operation and the account in the path: sending it again returns
// the first result with the same status and body and moves nothing, even when the body differs
// (the first request wins; a replayed top-up also carries "Idempotent-Replayed: true").

// TopUpIn is a top-up request.
type TopUpIn struct {
	Amount    Money  `json:"amount"`
	Method    string `json:"method" doc:"counter, card_terminal, bank_transfer or voucher: how the purchaser paid; the method's payment provider collects the money first"`
	Reference string `json:"reference,omitempty" maxLength:"100" doc:"receipt, terminal or transfer reference"`
}

// TopUpOut is a top-up as the API shows it.
type TopUpOut struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"account_id"`
	Amount      Money     `json:"amount"`
	Method      string    `json:"method"`
	Reference   string    `json:"reference,omitempty"`
	ProviderRef string    `json:"provider_ref,omitempty"`
	Balance     Money     `json:"balance" doc:"the account's balance right after this top-up"`
	LedgerTxID  string    `json:"ledger_tx_id"`
	CreatedAt   time.Time `json:"created_at"`
}

func topUpOut(t *app.TopUp) TopUpOut {
	return TopUpOut{ID: t.ID, AccountID: t.AccountID, Amount: MoneyOf(t.Amount), Method: t.Method, Reference: t.Reference,
		ProviderRef: t.ProviderRef, Balance: MoneyOf(t.Balance), LedgerTxID: t.LedgerTxID, CreatedAt: t.At}
}

// EntryOut is a ledger entry as the API shows it.
type EntryOut struct {
	ID        string    `json:"id"`
	TxID      string    `json:"tx_id"`
	AccountID string    `json:"account_id"`
	Kind      string    `json:"kind" doc:"topup, hold, capture, release, refund, adjustment, transfer"`
	Ref       string    `json:"ref,omitempty" doc:"what the transaction is about: a top-up, a session, an account"`
	Amount    Money     `json:"amount" doc:"signed: positive into the account"`
	CreatedAt time.Time `json:"created_at"`
}

func entryOut(e account.LedgerEntry) EntryOut {
	return EntryOut{ID: e.ID, TxID: e.TxID, AccountID: e.AccountID, Kind: e.Kind, Ref: e.Memo,
		Amount: MoneyOf(money.New(e.Amount, e.Currency)), CreatedAt: e.At}
}

// LedgerTxOut is a ledger transaction as the API shows it.
type LedgerTxOut struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Ref       string     `json:"ref,omitempty"`
	Memo      string     `json:"memo,omitempty"`
	Actor     string     `json:"actor,omitempty"`
	Entries   []EntryOut `json:"entries"`
	CreatedAt time.Time  `json:"created_at"`
}

func ledgerTxOut(lt *account.LedgerTx) LedgerTxOut {
	out := LedgerTxOut{ID: lt.ID, Kind: lt.Kind, Ref: lt.Ref, Memo: lt.Memo, Actor: lt.Actor, CreatedAt: lt.At, Entries: []EntryOut{}}
	for _, e := range lt.Entries {
		e.Kind, e.Memo, e.TxID = lt.Kind, lt.Ref, lt.ID
		out.Entries = append(out.Entries, entryOut(e))
	}
	return out
}

// StatementOut is an account statement.
type StatementOut struct {
	AccountID string     `json:"account_id"`
	From      *time.Time `json:"from,omitempty"`
	To        time.Time  `json:"to"`
	Opening   Money      `json:"opening_balance"`
	Closing   Money      `json:"closing_balance"`
	Entries   []EntryOut `json:"entries" doc:"oldest first"`
}

// LedgerCheckOut is the result of a ledger check.
type LedgerCheckOut struct {
	OK bool `json:"ok"`
}

// topUpCreated answers a top-up; Idempotent-Replayed is set when the key was used before.
type topUpCreated struct {
	Status   int
	Replayed *string `header:"Idempotent-Replayed" doc:"true when an earlier request with this key is answered"`
	Body     TopUpOut
}

// IdempotencyHeader is the header every money-moving POST needs. It is optional in the schema so that
// a missing key is answered by the handler with a 400 naming it (huma would answer 422).
type IdempotencyHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"required: the same key again returns the first result and moves nothing"`
}

func (h IdempotencyHeader) key() (string, error) {
	if strings.TrimSpace(h.IdempotencyKey) == "" {
		return "", newProblem(http.StatusBadRequest, "the Idempotency-Key header is required for requests that move money",
			&huma.ErrorDetail{Location: "header.Idempotency-Key", Message: "is required"})
	}
	return h.IdempotencyKey, nil
}

// ledgerFail is fail with the app's field names turned into this API's: the amount is the
// "amount" object, and the idempotency key is a header.
func ledgerFail(err error) error {
	var e *errs.Error
	if !errors.As(err, &e) || e.Field == "" {
		return fail(err)
	}
	c := *e
	switch c.Field {
	case "amount":
		c.Field = "amount.amount"
	case "currency":
		c.Field = "amount.currency"
	case "account_id":
		return fail(&errs.Error{Kind: c.Kind, Op: c.Op, Msg: errs.Message(err)}) // the path, not the body
	case "idempotency_key":
		return newProblem(status(c.Kind), errs.Message(err), &huma.ErrorDetail{Location: "header.Idempotency-Key", Message: c.Msg})
	}
	return fail(&c)
}

// parseMoney reads a wire amount; excess precision is refused, never rounded.
func parseMoney(m Money) (money.Money, error) {
	if err := money.CheckCurrency("currency", m.Currency); err != nil {
		return money.Money{}, err
	}
	return money.Parse(m.Amount, m.Currency)
}

func registerLedger(api huma.API, a *app.App) {
	const tag = "Prepaid ledger"
	huma.Register(api, withStatus(op(http.MethodPost, "/accounts/{id}/topups", "create-topup",
		"Top up a prepaid account (needs Idempotency-Key)", account.RoleOperator, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"100"`
			IdempotencyHeader
			Body TopUpIn
		}) (*topUpCreated, error) {
			key, err := in.key()
			if err != nil {
				return nil, err
			}
			t, err := a.TopUp(ctx, in.ID, app.TopUpInput{Amount: in.Body.Amount.Amount, Currency: in.Body.Amount.Currency,
				Method: in.Body.Method, Reference: in.Body.Reference}, key)
			if err != nil {
				return nil, ledgerFail(err)
			}
			out := &topUpCreated{Status: http.StatusCreated, Body: topUpOut(t)}
			if t.Replayed {
				yes := "true"
				out.Replayed = &yes
			}
			return out, nil
		})

	topUpsOp := op(http.MethodGet, "/accounts/{id}/topups", "list-topups", "List an account's top-ups, newest first", account.RoleViewer, tag)
	listDoc{times: creationTime, sorts: creationTime, amount: "amount", desc: true}.document(&topUpsOp)
	huma.Register(api, topUpsOp,
		func(ctx context.Context, in *struct {
			ID     string `path:"id" maxLength:"100"`
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor"`
			RangeParams
		}) (*body[Page[TopUpOut]], error) {
			q := pageQuery(in.Limit, in.Cursor)
			if err := in.apply(&q); err != nil {
				return nil, err
			}
			ts, next, err := a.TopUps(ctx, in.ID, q)
			if err != nil {
				return nil, ledgerListFail(err)
			}
			out := make([]TopUpOut, 0, len(ts))
			for i := range ts {
				out = append(out, topUpOut(&ts[i]))
			}
			return &body[Page[TopUpOut]]{Page[TopUpOut]{Items: out, NextCursor: next}}, nil
		})

	entriesOp := op(http.MethodGet, "/accounts/{id}/ledger", "list-ledger-entries", "List an account's ledger entries, newest first", account.RoleViewer, tag)
	listDoc{times: creationTime, sorts: []string{"created_at", "amount"}, amount: "signed amount", desc: true}.document(&entriesOp)
	huma.Register(api, entriesOp,
		func(ctx context.Context, in *struct {
			ID     string `path:"id" maxLength:"100"`
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor"`
			RangeParams
		}) (*body[Page[EntryOut]], error) {
			q := pageQuery(in.Limit, in.Cursor)
			if err := in.apply(&q); err != nil {
				return nil, err
			}
			es, next, err := a.LedgerEntries(ctx, in.ID, q)
			if err != nil {
				return nil, ledgerListFail(err)
			}
			out := make([]EntryOut, 0, len(es))
			for _, e := range es {
				out = append(out, entryOut(e))
			}
			return &body[Page[EntryOut]]{Page[EntryOut]{Items: out, NextCursor: next}}, nil
		})

	statement := op(http.MethodGet, "/accounts/{id}/statement", "get-statement", "An account's statement: entries in [from, to) with opening and closing balances", account.RoleViewer, tag)
	huma.Register(api, statement, func(ctx context.Context, in *struct {
		ID   string    `path:"id" maxLength:"100"`
		From time.Time `query:"from" doc:"RFC 3339; default: the beginning"`
		To   time.Time `query:"to" doc:"RFC 3339, exclusive; default: now"`
	}) (*body[StatementOut], error) {
		st, err := a.Statement(ctx, in.ID, in.From, in.To)
		if err != nil {
			return nil, ledgerFail(err)
		}
		out := StatementOut{AccountID: st.AccountID, To: st.To, Opening: MoneyOf(st.Opening), Closing: MoneyOf(st.Closing), Entries: []EntryOut{}}
		if !st.From.IsZero() {
			out.From = &st.From
		}
		for _, e := range st.Entries {
			out.Entries = append(out.Entries, entryOut(e))
		}
		return &body[StatementOut]{out}, nil
	})

	type refundIn struct {
		Amount Money  `json:"amount"`
		Ref    string `json:"ref,omitempty" maxLength:"100" doc:"what is refunded, e.g. a session id: refunds of a session may not exceed its cost"`
		Reason string `json:"reason,omitempty" maxLength:"500"`
	}
	huma.Register(api, withStatus(op(http.MethodPost, "/accounts/{id}/refunds", "create-refund",
		"Refund money to an account from revenue (needs Idempotency-Key)", account.RoleOperator, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"100"`
			IdempotencyHeader
			Body refundIn
		}) (*created[LedgerTxOut], error) {
			return postLedger(in.IdempotencyHeader, in.Body.Amount, func(key string, m money.Money) (*account.LedgerTx, error) {
				return a.Refund(ctx, in.ID, m, in.Body.Ref, in.Body.Reason, key)
			})
		})

	type adjustIn struct {
		Amount Money  `json:"amount" doc:"signed: negative takes money off the account"`
		Reason string `json:"reason" minLength:"1" maxLength:"500"`
	}
	huma.Register(api, withStatus(op(http.MethodPost, "/accounts/{id}/adjustments", "create-adjustment",
		"Correct an account's balance (admin; reason required; needs Idempotency-Key)", account.RoleAdmin, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"100"`
			IdempotencyHeader
			Body adjustIn
		}) (*created[LedgerTxOut], error) {
			return postLedger(in.IdempotencyHeader, in.Body.Amount, func(key string, m money.Money) (*account.LedgerTx, error) {
				return a.Adjust(ctx, in.ID, m, in.Body.Reason, key)
			})
		})

	type transferIn struct {
		ToAccountID string `json:"to_account_id" maxLength:"100"`
		Amount      Money  `json:"amount"`
	}
	huma.Register(api, withStatus(op(http.MethodPost, "/accounts/{id}/transfers", "create-transfer",
		"Move money to another account of the same purchaser group (needs Idempotency-Key)", account.RoleOperator, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"100"`
			IdempotencyHeader
			Body transferIn
		}) (*created[LedgerTxOut], error) {
			return postLedger(in.IdempotencyHeader, in.Body.Amount, func(key string, m money.Money) (*account.LedgerTx, error) {
				return a.Transfer(ctx, in.ID, in.Body.ToAccountID, m, key)
			})
		})

	check := op(http.MethodGet, "/ledger/check", "check-ledger", "Prove the ledger: balanced transactions, balances equal to their entries, all entries summing to zero", account.RoleAdmin, tag)
	check.Description = "200 `{\"ok\": true}` when the ledger is sound; otherwise a 409 problem whose `errors` list each problem found."
	huma.Register(api, check, func(ctx context.Context, _ *struct{}) (*body[LedgerCheckOut], error) {
		err := a.CheckLedger(ctx)
		var lp *app.LedgerProblems
		if errors.As(err, &lp) {
			details := make([]error, 0, len(lp.Problems))
			for _, p := range lp.Problems {
				details = append(details, &huma.ErrorDetail{Message: p})
			}
			return nil, newProblem(http.StatusConflict, "the ledger check found problems", details...)
		}
		if err != nil {
			return nil, fail(err)
		}
		return &body[LedgerCheckOut]{LedgerCheckOut{OK: true}}, nil
	})
}

// postLedger runs a money-moving POST: key, amount, use case, 201 with the transaction.
func postLedger(h IdempotencyHeader, wire Money, do func(key string, m money.Money) (*account.LedgerTx, error)) (*created[LedgerTxOut], error) {
	key, err := h.key()
	if err != nil {
		return nil, err
	}
	m, err := parseMoney(wire)
	if err != nil {
		return nil, ledgerFail(err)
	}
	lt, err := do(key, m)
	if err != nil {
		return nil, ledgerFail(err)
	}
	return &created[LedgerTxOut]{Status: http.StatusCreated, Body: ledgerTxOut(lt)}, nil
}

// ledgerListFail is ledgerFail for the ledger's lists: a refused sort, range or cursor is a
// 400 naming its query parameter.
func ledgerListFail(err error) error {
	if errors.Is(err, store.ErrBadQuery) {
		return listFail(err)
	}
	return ledgerFail(err)
}

func pageQuery(limit int, cursor string) store.Query {
	return store.Query{Limit: limit, Cursor: cursor}
}
