package app

// The prepaid ledger's use cases. Every balance change is one balanced ledger transaction
// (account.LedgerTx) posted with an idempotency key; a balance is never stored, only summed.
//
// Sign convention: an entry moves Amount into an account, so a purchaser's account goes up by a
// top-up and the system account the money came from (sys_cash_EUR) goes down by as much. The
// system accounts of a currency are:
//
//	sys_cash_EUR     money received from purchasers (top-ups)
//	sys_holds_EUR    funds held for running sessions
//	sys_revenue_EUR  charging and swap revenue (captures; refunds come out of it)
//	sys_adjust_EUR   manual adjustments by an admin
//
// Idempotency keys. A client's key is scoped to the operation and the account it names
// ("topup:<account>:<key>"), so the same key on another account is another request. The same
// key again returns the first result and moves nothing, whatever the rest of the request says.
// Session postings use fixed keys: "hold:<session>", "capture:<session>", "release:<session>".
//
// Concurrency. Every posting to a purchaser account first takes that account's lock (see
// lockAccount), so a balance read and the posting that depends on it cannot be overtaken by
// another posting; transfers lock both accounts in id order. System accounts are not locked:
// nothing limits their balance.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// Kinds of system accounts.
const (
	SysCash    = "cash"
	SysHolds   = "holds"
	SysRevenue = "revenue"
	SysAdjust  = "adjust"
)

// Kinds of ledger transactions posted here.
const (
	LedgerTopUp    = "topup"
	LedgerHold     = "hold"
	LedgerCapture  = "capture"
	LedgerRelease  = "release"
	LedgerRefund   = "refund"
	LedgerAdjust   = "adjustment"
	LedgerTransfer = "transfer"
)

// SystemAccountID is the fixed id of a system account: "sys_<kind>_<currency>".
func SystemAccountID(kind, currency string) string { return "sys_" + kind + "_" + currency }

// SystemAccount returns (creating if needed, in tx) the id of a system account: kind one of
// "cash", "holds", "revenue", "adjust".
func (a *App) SystemAccount(ctx context.Context, tx store.Tx, kind, currency string) (string, error) {
	switch kind {
	case SysCash, SysHolds, SysRevenue, SysAdjust:
	default:
		return "", errs.Field("kind", "%q is not a system account (cash, holds, revenue, adjust)", kind)
	}
	if err := money.CheckCurrency("currency", currency); err != nil {
		return "", err
	}
	id := SystemAccountID(kind, currency)
	if _, ok := a.ledgerState().sys.Load(id); ok {
		return id, nil
	}
	if _, err := tx.Accounts().Get(ctx, id); err == nil {
		return id, nil
	} else if !errs.Is(err, errs.NotFound) {
		return "", err
	}
	now := a.now()
	acc := account.Account{ID: id, Currency: currency, Status: account.Active, CreatedAt: now, UpdatedAt: now}
	return id, tx.Accounts().Create(ctx, &acc)
}

// ensureSystemAccount creates a system account in a transaction of its own, before a use case
// needs it, so that two first uses at once do not fail one another; then it is remembered as
// existing. (Only a committed account is remembered: SystemAccount itself may run in a
// transaction that rolls back.)
func (a *App) ensureSystemAccount(ctx context.Context, kind, currency string) error {
	id := SystemAccountID(kind, currency)
	st := a.ledgerState()
	if _, ok := st.sys.Load(id); ok {
		return nil
	}
	err := a.Store.InTx(ctx, func(tx store.Tx) error { _, err := a.SystemAccount(ctx, tx, kind, currency); return err })
	if errs.Is(err, errs.Conflict) {
		err = nil // another request created it at the same time; it exists now
	}
	if err == nil {
		st.sys.Store(id, struct{}{})
	}
	return err
}

// ledgerTx runs fn in a transaction, and once more when it failed with Conflict: when two
// requests use a system account for the first time at once, one fails on its unique id, and on
// the second run the account exists. Running fn again is safe: postings are idempotent by key.
func (a *App) ledgerTx(ctx context.Context, fn func(store.Tx) error) error {
	err := a.Store.InTx(ctx, fn)
	if errs.Is(err, errs.Conflict) {
		err = a.Store.InTx(ctx, fn)
	}
	return err
}

// lockAccount serialises postings to one account until tx ends. Taking the account's running
// balance row locks it on PostgreSQL (SQLite has a single writer anyway); a balance read after it
// sees every posting committed before, and no posting that depends on the balance can commit in
// between.
func lockAccount(ctx context.Context, tx store.Tx, accountID string) error {
	return tx.Ledger().Lock(ctx, accountID)
}

// clientKey checks a client's idempotency key and scopes it to an operation and an account.
func clientKey(op, accountID, key string) (string, error) {
	if key == "" {
		return "", errs.Field("idempotency_key", "is required")
	}
	if len(key) > 200 {
		return "", errs.Field("idempotency_key", "must be at most 200 characters")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return "", errs.Field("idempotency_key", "must not contain control characters")
		}
	}
	return op + ":" + accountID + ":" + key, nil
}

// getAccount reads an account, naming field when it does not exist.
func getAccount(ctx context.Context, tx store.Tx, field, id string) (*account.Account, error) {
	if id == "" {
		return nil, errs.Field(field, "is required")
	}
	acc, err := tx.Accounts().Get(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Kind: errs.NotFound, Field: field, Msg: fmt.Sprintf("account %q does not exist", id)}
	}
	return acc, err
}

// checkAmount validates an amount against an account: a known currency, the account's, not zero,
// and positive unless signed.
func checkAmount(m money.Money, acc *account.Account, signed bool) error {
	if err := money.CheckCurrency("currency", m.Currency); err != nil {
		return err
	}
	if m.Currency != acc.Currency {
		return errs.Field("currency", "%s does not match the account's currency %s", m.Currency, acc.Currency)
	}
	if m.Minor == 0 || (!signed && m.Minor < 0) {
		if signed {
			return errs.Field("amount", "must not be zero")
		}
		return errs.Field("amount", "must be greater than zero")
	}
	return nil
}

// entryOf returns the amount a ledger transaction moved into accountID.
func entryOf(lt *account.LedgerTx, accountID string) int64 {
	var sum int64
	for _, e := range lt.Entries {
		if e.AccountID == accountID {
			sum += e.Amount
		}
	}
	return sum
}

// byKey returns the transaction posted with key, or nil.
func byKey(ctx context.Context, tx store.Tx, key string) (*account.LedgerTx, error) {
	lt, err := tx.Ledger().ByKey(ctx, key)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return lt, err
}

// post records a ledger transaction made of non-zero legs, stamped with the actor and time.
func (a *App) post(ctx context.Context, tx store.Tx, lt *account.LedgerTx, cur string, legs ...leg) (*account.LedgerTx, error) {
	lt.Actor, lt.At = ActorFrom(ctx).UserID, a.now()
	for _, l := range legs {
		if l.amount != 0 {
			lt.Entries = append(lt.Entries, account.LedgerEntry{AccountID: l.account, Amount: l.amount, Currency: cur})
		}
	}
	stored, _, err := tx.Ledger().Post(ctx, lt)
	return stored, err
}

type leg struct {
	account string
	amount  int64
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// ---- top-ups ----

// TopUpInput is a top-up request. Amount is a decimal string in Currency (the account's currency
// when empty); more fraction digits than the currency has are refused, not rounded.
type TopUpInput struct {
	Amount    string
	Currency  string
	Method    string // counter | card_terminal | bank_transfer | voucher, or a method added with SetPaymentProvider
	Reference string
}

// TopUp is money put into a prepaid account.
type TopUp struct {
	ID          string
	AccountID   string
	Amount      money.Money
	Method      string
	Reference   string
	Provider    string
	ProviderRef string
	Balance     money.Money // the account's balance right after this top-up
	At          time.Time
	LedgerTxID  string
	Replayed    bool // true when an earlier request with the same key answered this one
}

// topUpExtra is what a top-up's ledger transaction carries besides its entries.
type topUpExtra struct {
	TopUpID      string `json:"topup_id"`
	Method       string `json:"method"`
	Reference    string `json:"reference,omitempty"`
	Provider     string `json:"provider"`
	ProviderRef  string `json:"provider_ref,omitempty"`
	BalanceMinor int64  `json:"balance_minor"`
}

func topUpOf(lt *account.LedgerTx, accountID string) (*TopUp, error) {
	var x topUpExtra
	if len(lt.Extra) > 0 { // a posting made outside TopUp (a bulk load, `evcs seed`) has none
		if err := json.Unmarshal(lt.Extra, &x); err != nil {
			return nil, errs.Wrap("decode top-up", err)
		}
	}
	if x.TopUpID == "" {
		x.TopUpID = lt.Ref
	}
	cur := ""
	if len(lt.Entries) > 0 {
		cur = lt.Entries[0].Currency
	}
	return &TopUp{ID: x.TopUpID, AccountID: accountID, Amount: money.New(entryOf(lt, accountID), cur), Method: x.Method,
		Reference: x.Reference, Provider: x.Provider, ProviderRef: x.ProviderRef, Balance: money.New(x.BalanceMinor, cur),
		At: lt.At, LedgerTxID: lt.ID}, nil
}

// TopUp puts money into a prepaid account (operator or admin). The payment provider of the method
// collects the money first; then the top-up is posted (cash → account). The same idempotency key
// again returns the first top-up, with Replayed set, and neither collects nor posts anything,
// even when the rest of the request differs. A declined payment posts nothing (errs
// InsufficientFunds). If the posting fails after the money was collected, a retry with the same
// key collects again under the same key, which a provider must treat as the first collection.
func (a *App) TopUp(ctx context.Context, accountID string, in TopUpInput, idemKey string) (*TopUp, error) {
	out, err := a.topUp(ctx, accountID, in, idemKey)
	return out, errs.Wrap("top up", err)
}

func (a *App) topUp(ctx context.Context, accountID string, in TopUpInput, idemKey string) (*TopUp, error) {
	if err := a.mayTopUp(ctx, accountID, in.Method); err != nil { // operators, or a purchaser on their own account
		return nil, err
	}
	key, err := clientKey(LedgerTopUp, accountID, idemKey)
	if err != nil {
		return nil, err
	}
	var first *TopUp
	var acc *account.Account
	err = a.Store.View(ctx, func(tx store.Tx) error {
		if lt, err := byKey(ctx, tx, key); err != nil || lt != nil {
			if lt != nil {
				first, err = topUpOf(lt, accountID)
			}
			return err
		}
		acc, err = getAccount(ctx, tx, "account_id", accountID)
		return err
	})
	if err != nil || first != nil {
		if first != nil {
			first.Replayed = true
		}
		return first, err
	}
	amount, p, err := a.checkTopUp(acc, in)
	if err != nil {
		return nil, err
	}
	if err := a.ensureSystemAccount(ctx, SysCash, acc.Currency); err != nil {
		return nil, err
	}
	providerRef, err := collect(ctx, p, amount, in.Reference, key)
	if err != nil {
		return nil, err
	}
	var out *TopUp
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		lt, replayed, err := a.postTopUp(ctx, tx, acc, key, amount, in, p.Name(), providerRef)
		if err != nil {
			return err
		}
		out, err = topUpOf(lt, accountID)
		if out != nil {
			out.Replayed = replayed
		}
		return err
	})
	return out, err
}

// checkTopUp validates a top-up against its account and returns the amount and the provider.
func (a *App) checkTopUp(acc *account.Account, in TopUpInput) (money.Money, PaymentProvider, error) {
	if acc.UserID == "" {
		return money.Money{}, nil, errs.Field("account_id", "%s is a system account", acc.ID)
	}
	if acc.Status != account.Active {
		return money.Money{}, nil, errs.Field("account_id", "account %s is %s and takes no top-ups", acc.ID, acc.Status)
	}
	cur := in.Currency
	if cur == "" {
		cur = acc.Currency
	}
	if err := money.CheckCurrency("currency", cur); err != nil {
		return money.Money{}, nil, err
	}
	amount, err := money.Parse(in.Amount, cur)
	if err != nil {
		return money.Money{}, nil, err
	}
	if err := checkAmount(amount, acc, false); err != nil {
		return money.Money{}, nil, err
	}
	p, ok := a.PaymentProviderFor(in.Method)
	if !ok {
		return money.Money{}, nil, errs.Field("method", "must be one of %s", strings.Join(a.PaymentMethods(), ", "))
	}
	if len(in.Reference) > 100 {
		return money.Money{}, nil, errs.Field("reference", "must be at most 100 characters")
	}
	return amount, p, nil
}

// postTopUp posts a collected top-up under the account's lock. It reports replayed when a
// concurrent request with the same key posted first. The account is not checked again: the money
// has been collected, and collected money must be in the ledger even if the account was
// deactivated meanwhile (an operator then refunds it).
func (a *App) postTopUp(ctx context.Context, tx store.Tx, acc *account.Account, key string, amount money.Money, in TopUpInput, provider, providerRef string) (*account.LedgerTx, bool, error) {
	if err := lockAccount(ctx, tx, acc.ID); err != nil {
		return nil, false, err
	}
	bal, err := tx.Balance(ctx, acc.ID)
	if err != nil {
		return nil, false, err
	}
	cash, err := a.SystemAccount(ctx, tx, SysCash, acc.Currency)
	if err != nil {
		return nil, false, err
	}
	id := ids.New("tup")
	lt := &account.LedgerTx{IdemKey: key, Kind: LedgerTopUp, Ref: id, Memo: "top-up by " + in.Method,
		Extra: mustJSON(topUpExtra{TopUpID: id, Method: in.Method, Reference: in.Reference, Provider: provider,
			ProviderRef: providerRef, BalanceMinor: bal + amount.Minor})}
	// Post answers a key posted before (by a concurrent request, which held the lock first) with
	// that transaction, and posts nothing.
	lt.Actor, lt.At = ActorFrom(ctx).UserID, a.now()
	lt.Entries = []account.LedgerEntry{{AccountID: cash, Amount: -amount.Minor, Currency: acc.Currency}, {AccountID: acc.ID, Amount: amount.Minor, Currency: acc.Currency}}
	stored, posted, err := tx.Ledger().Post(ctx, lt)
	if err == nil && posted {
		err = ReportTopUp(ctx, tx, stored) // the top-up report's rollup, in this transaction
	}
	return stored, !posted, err
}

// TopUps lists an account's top-ups, newest first.
func (a *App) TopUps(ctx context.Context, accountID string, q store.Query) ([]TopUp, string, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("list top-ups", err)
	}
	var out []TopUp
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) error {
		if _, err := getAccount(ctx, tx, "account_id", accountID); err != nil {
			return err
		}
		q.Filter = map[string]string{"kind": LedgerTopUp, "account_id": accountID}
		lts, n, err := tx.Ledger().Transactions(ctx, q)
		if err != nil {
			return err
		}
		out, next = make([]TopUp, 0, len(lts)), n
		for i := range lts {
			t, err := topUpOf(&lts[i], accountID)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return nil
	})
	return out, next, errs.Wrap("list top-ups", err)
}

// ---- session money ----

// HoldTx holds up to want minor units of an account for a session, inside the caller's
// transaction (account → holds, key "hold:"+sessionID). It holds what is available,
// min(want, balance + credit limit); when nothing is, it posts nothing and returns 0. Called
// again for the session it returns what the first call held and moves nothing.
func (a *App) HoldTx(ctx context.Context, tx store.Tx, accountID, sessionID string, want int64) (int64, error) {
	held, err := a.holdTx(ctx, tx, accountID, sessionID, want)
	return held, errs.Wrap("hold", err)
}

func (a *App) holdTx(ctx context.Context, tx store.Tx, accountID, sessionID string, want int64) (int64, error) {
	if sessionID == "" {
		return 0, errs.Field("session_id", "is required")
	}
	if want < 0 {
		return 0, errs.Field("amount", "must not be negative")
	}
	if err := lockAccount(ctx, tx, accountID); err != nil {
		return 0, err
	}
	earlier := func() (int64, error) { // what an earlier call for the session held, if any
		lt, err := byKey(ctx, tx, "hold:"+sessionID)
		if lt == nil || err != nil {
			return 0, err
		}
		return -entryOf(lt, accountID), nil
	}
	acc, err := getAccount(ctx, tx, "account_id", accountID)
	if err != nil {
		return 0, err
	}
	if want == 0 {
		return earlier()
	}
	bal, err := tx.Balance(ctx, acc.ID)
	if err != nil {
		return 0, err
	}
	held := min(want, bal+acc.CreditLimit)
	if held <= 0 {
		return earlier()
	}
	holds, err := a.SystemAccount(ctx, tx, SysHolds, acc.Currency)
	if err != nil {
		return 0, err
	}
	// The posting is idempotent on its key: a second call for the session posts nothing and
	// gets the first hold back, whatever the balance says now.
	lt := &account.LedgerTx{IdemKey: "hold:" + sessionID, Kind: LedgerHold, Ref: sessionID, Memo: "funds held for the session"}
	stored, err := a.post(ctx, tx, lt, acc.Currency, leg{acc.ID, -held}, leg{holds, held})
	if err != nil {
		return 0, err
	}
	if stored != lt {
		return -entryOf(stored, accountID), nil
	}
	return held, nil
}

// captureExtra is what a capture carries: where the money came from, and by how much it took the
// account beyond its credit limit.
type captureExtra struct {
	HeldMinor          int64 `json:"held_minor"`
	FromHoldMinor      int64 `json:"from_hold_minor"`
	FromAccountMinor   int64 `json:"from_account_minor"`
	OverCreditLimitMin int64 `json:"over_credit_limit_minor,omitempty"`
}

// SettleTx settles a session's cost inside the caller's transaction: it captures cost (→ revenue,
// key "capture:"+sessionID), taking it from the session's hold first and any excess from the
// account, and releases the rest of the hold to the account (key "release:"+sessionID).
//
// The energy was delivered, so the whole cost is always captured, even when the excess takes the
// account beyond its credit limit: the debt is recorded, never refused or dropped. Such a
// capture is flagged: its Extra carries over_credit_limit_minor (the debt beyond the limit), its
// memo says so, and a warning is logged. The account then has no funds to hold, so HoldTx holds
// nothing for its next session until it is topped up.
//
// Once a capture or release was posted for the session, calling SettleTx again moves nothing.
// (A session with no hold and a cost of zero posts nothing, so there is nothing to repeat.)
func (a *App) SettleTx(ctx context.Context, tx store.Tx, accountID, sessionID string, cost int64) error {
	return errs.Wrap("settle", a.settleTx(ctx, tx, accountID, sessionID, cost))
}

func (a *App) settleTx(ctx context.Context, tx store.Tx, accountID, sessionID string, cost int64) error {
	if sessionID == "" {
		return errs.Field("session_id", "is required")
	}
	if cost < 0 {
		return errs.Field("cost", "must not be negative")
	}
	if err := lockAccount(ctx, tx, accountID); err != nil {
		return err
	}
	// The session's postings so far, in one look-up by reference (hold, capture, release).
	posted, err := tx.Ledger().ByRef(ctx, sessionID)
	if err != nil {
		return err
	}
	var hold *account.LedgerTx
	for i := range posted {
		switch posted[i].IdemKey {
		case "capture:" + sessionID, "release:" + sessionID:
			return nil // settled before: nothing moves
		case "hold:" + sessionID:
			hold = &posted[i]
		}
	}
	acc, err := getAccount(ctx, tx, "account_id", accountID)
	if err != nil {
		return err
	}
	var held int64
	if hold != nil {
		if held = -entryOf(hold, accountID); held <= 0 {
			return errs.Field("account_id", "the hold of session %s is on another account", sessionID)
		}
	}
	fromHold := min(cost, held)
	if cost > 0 {
		if err := a.capture(ctx, tx, acc, sessionID, cost, held, fromHold); err != nil {
			return err
		}
	}
	if rest := held - fromHold; rest > 0 {
		holds, err := a.SystemAccount(ctx, tx, SysHolds, acc.Currency)
		if err != nil {
			return err
		}
		lt := &account.LedgerTx{IdemKey: "release:" + sessionID, Kind: LedgerRelease, Ref: sessionID, Memo: "rest of the hold released"}
		if _, err := a.post(ctx, tx, lt, acc.Currency, leg{holds, -rest}, leg{acc.ID, rest}); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) capture(ctx context.Context, tx store.Tx, acc *account.Account, sessionID string, cost, held, fromHold int64) error {
	excess := cost - fromHold
	x := captureExtra{HeldMinor: held, FromHoldMinor: fromHold, FromAccountMinor: excess}
	memo := "session cost"
	if excess > 0 {
		bal, err := tx.Balance(ctx, acc.ID)
		if err != nil {
			return err
		}
		if over := -(bal - excess) - acc.CreditLimit; over > 0 {
			x.OverCreditLimitMin = min(over, excess)
			memo = "session cost; beyond the credit limit by " + money.FormatMinor(x.OverCreditLimitMin, acc.Currency) + " " + acc.Currency
			a.Log.Warn("session cost beyond the credit limit: debt recorded", "account", acc.ID, "session", sessionID,
				"over_minor", x.OverCreditLimitMin, "currency", acc.Currency)
		}
	}
	holds, err := a.SystemAccount(ctx, tx, SysHolds, acc.Currency)
	if err != nil {
		return err
	}
	revenue, err := a.SystemAccount(ctx, tx, SysRevenue, acc.Currency)
	if err != nil {
		return err
	}
	lt := &account.LedgerTx{IdemKey: "capture:" + sessionID, Kind: LedgerCapture, Ref: sessionID, Memo: memo, Extra: mustJSON(x)}
	_, err = a.post(ctx, tx, lt, acc.Currency, leg{holds, -fromHold}, leg{acc.ID, -excess}, leg{revenue, cost})
	return err
}

// ---- refunds, adjustments, transfers ----

// Refund gives money back to an account from revenue (operator or admin). ref says what it is
// about; when it names a session that was charged, the refunds with that ref together may not
// exceed what the session was charged. The same key again returns the first refund.
func (a *App) Refund(ctx context.Context, accountID string, amount money.Money, ref, reason, idemKey string) (*account.LedgerTx, error) {
	out, err := a.refund(ctx, accountID, amount, ref, reason, idemKey)
	return out, errs.Wrap("refund", err)
}

func (a *App) refund(ctx context.Context, accountID string, amount money.Money, ref, reason, idemKey string) (*account.LedgerTx, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, err
	}
	key, err := clientKey(LedgerRefund, accountID, idemKey)
	if err != nil {
		return nil, err
	}
	var out *account.LedgerTx
	err = a.ledgerTx(ctx, func(tx store.Tx) error {
		acc, first, err := a.lockForPosting(ctx, tx, accountID, key)
		if err != nil || first != nil {
			out = first
			return err
		}
		if err := checkAmount(amount, acc, false); err != nil {
			return err
		}
		if err := checkRefundable(ctx, tx, acc.ID, ref, amount.Minor); err != nil {
			return err
		}
		revenue, err := a.SystemAccount(ctx, tx, SysRevenue, acc.Currency)
		if err != nil {
			return err
		}
		lt := &account.LedgerTx{IdemKey: key, Kind: LedgerRefund, Ref: ref, Memo: strings.TrimSpace(reason)}
		out, err = a.post(ctx, tx, lt, acc.Currency, leg{revenue, -amount.Minor}, leg{acc.ID, amount.Minor})
		return err
	})
	return out, err
}

// lockForPosting locks an account and returns it, or the transaction posted before with key.
func (a *App) lockForPosting(ctx context.Context, tx store.Tx, accountID, key string) (*account.Account, *account.LedgerTx, error) {
	if err := lockAccount(ctx, tx, accountID); err != nil {
		return nil, nil, err
	}
	if lt, err := byKey(ctx, tx, key); err != nil || lt != nil {
		return nil, lt, err
	}
	acc, err := getAccount(ctx, tx, "account_id", accountID)
	if err == nil && acc.UserID == "" {
		err = errs.Field("account_id", "%s is a system account", acc.ID)
	}
	return acc, nil, err
}

// checkRefundable refuses a refund that, with the earlier refunds of the same session, exceeds
// what the session was charged. Refunds about anything else are not limited here.
func checkRefundable(ctx context.Context, tx store.Tx, accountID, ref string, amount int64) error {
	if ref == "" {
		return nil
	}
	capture, err := byKey(ctx, tx, "capture:"+ref)
	if err != nil || capture == nil {
		return err
	}
	charged := -entryOf(capture, accountID)
	for _, e := range capture.Entries {
		if strings.HasPrefix(e.AccountID, "sys_revenue_") {
			charged = e.Amount
		}
	}
	var refunded int64
	q := store.Query{Filter: map[string]string{"kind": LedgerRefund, "ref": ref}, Limit: 500}
	for {
		lts, next, err := tx.Ledger().Transactions(ctx, q)
		if err != nil {
			return err
		}
		for i := range lts {
			refunded += entryOf(&lts[i], accountID)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if refunded+amount > charged {
		return errs.Field("amount", "refunds of %s would total %s, more than the %s it was charged",
			ref, money.FormatMinor(refunded+amount, capture.Entries[0].Currency), money.FormatMinor(charged, capture.Entries[0].Currency))
	}
	return nil
}

// Adjust corrects an account's balance by a signed amount (admin only; reason required),
// against the adjustments account. Adjustments are not limited by the credit limit: they are
// corrections by an admin. The same key again returns the first adjustment.
func (a *App) Adjust(ctx context.Context, accountID string, amount money.Money, reason, idemKey string) (*account.LedgerTx, error) {
	out, err := a.adjust(ctx, accountID, amount, reason, idemKey)
	return out, errs.Wrap("adjust", err)
}

func (a *App) adjust(ctx context.Context, accountID string, amount money.Money, reason, idemKey string) (*account.LedgerTx, error) {
	if err := require(ctx, account.RoleAdmin); err != nil {
		return nil, err
	}
	key, err := clientKey(LedgerAdjust, accountID, idemKey)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, errs.Field("reason", "is required")
	}
	if len(reason) > 500 {
		return nil, errs.Field("reason", "must be at most 500 characters")
	}
	var out *account.LedgerTx
	err = a.ledgerTx(ctx, func(tx store.Tx) error {
		acc, first, err := a.lockForPosting(ctx, tx, accountID, key)
		if err != nil || first != nil {
			out = first
			return err
		}
		if err := checkAmount(amount, acc, true); err != nil {
			return err
		}
		adj, err := a.SystemAccount(ctx, tx, SysAdjust, acc.Currency)
		if err != nil {
			return err
		}
		lt := &account.LedgerTx{IdemKey: key, Kind: LedgerAdjust, Ref: acc.ID, Memo: reason}
		out, err = a.post(ctx, tx, lt, acc.Currency, leg{adj, -amount.Minor}, leg{acc.ID, amount.Minor})
		return err
	})
	return out, err
}

// Transfer moves money between two purchaser accounts of the same purchaser group (operator or
// admin): same currency, both active, and the source may not go below zero by more than its
// credit limit (errs InsufficientFunds). The same key again returns the first transfer.
func (a *App) Transfer(ctx context.Context, fromID, toID string, amount money.Money, idemKey string) (*account.LedgerTx, error) {
	out, err := a.transfer(ctx, fromID, toID, amount, idemKey)
	return out, errs.Wrap("transfer", err)
}

func (a *App) transfer(ctx context.Context, fromID, toID string, amount money.Money, idemKey string) (*account.LedgerTx, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, err
	}
	key, err := clientKey(LedgerTransfer, fromID, idemKey)
	if err != nil {
		return nil, err
	}
	if toID == "" {
		return nil, errs.Field("to_account_id", "is required")
	}
	if toID == fromID {
		return nil, errs.Field("to_account_id", "must differ from the source account")
	}
	var out *account.LedgerTx
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		// Lock in id order so two opposite transfers cannot deadlock.
		pair := []string{fromID, toID}
		slices.Sort(pair)
		for _, id := range pair {
			if err := lockAccount(ctx, tx, id); err != nil {
				return err
			}
		}
		if lt, err := byKey(ctx, tx, key); err != nil || lt != nil {
			out = lt
			return err
		}
		from, to, err := transferAccounts(ctx, tx, fromID, toID)
		if err != nil {
			return err
		}
		if err := checkAmount(amount, from, false); err != nil {
			return err
		}
		bal, err := tx.Balance(ctx, from.ID)
		if err != nil {
			return err
		}
		if bal-amount.Minor < -from.CreditLimit {
			return &errs.Error{Kind: errs.InsufficientFunds, Field: "amount", Msg: fmt.Sprintf("the balance of %s (%s %s) does not cover %s",
				from.ID, money.FormatMinor(bal, from.Currency), from.Currency, amount.String())}
		}
		lt := &account.LedgerTx{IdemKey: key, Kind: LedgerTransfer, Ref: to.ID, Memo: "transfer from " + from.ID + " to " + to.ID}
		out, err = a.post(ctx, tx, lt, from.Currency, leg{from.ID, -amount.Minor}, leg{to.ID, amount.Minor})
		return err
	})
	return out, err
}

// transferAccounts reads both sides of a transfer and checks they may trade: active purchaser
// accounts of one purchaser group, in one currency.
func transferAccounts(ctx context.Context, tx store.Tx, fromID, toID string) (from, to *account.Account, err error) {
	groups := [2]string{}
	for i, side := range []struct {
		field, id string
		acc       **account.Account
	}{{"account_id", fromID, &from}, {"to_account_id", toID, &to}} {
		acc, err := getAccount(ctx, tx, side.field, side.id)
		if err != nil {
			return nil, nil, err
		}
		if acc.UserID == "" {
			return nil, nil, errs.Field(side.field, "%s is a system account", acc.ID)
		}
		if acc.Status != account.Active {
			return nil, nil, errs.Field(side.field, "account %s is %s", acc.ID, acc.Status)
		}
		u, err := tx.Users().Get(ctx, acc.UserID)
		if err != nil {
			return nil, nil, err
		}
		groups[i], *side.acc = u.GroupID, acc
	}
	if groups[0] == "" || groups[0] != groups[1] {
		return nil, nil, errs.Field("to_account_id", "transfers are only between accounts of one purchaser group")
	}
	if from.Currency != to.Currency {
		return nil, nil, errs.Field("to_account_id", "account %s is in %s, not %s", to.ID, to.Currency, from.Currency)
	}
	return from, to, nil
}

// ---- reading and proving the ledger ----

// LedgerEntries lists an account's ledger entries, newest first (Memo carries the transaction's
// ref).
func (a *App) LedgerEntries(ctx context.Context, accountID string, q store.Query) ([]account.LedgerEntry, string, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("ledger", err)
	}
	var out []account.LedgerEntry
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) error {
		if _, err := getAccount(ctx, tx, "account_id", accountID); err != nil {
			return err
		}
		var err error
		out, next, err = tx.Ledger().Entries(ctx, accountID, q)
		return err
	})
	return out, next, errs.Wrap("ledger", err)
}

// eachEntry calls fn for every entry of an account, newest first.
func eachEntry(ctx context.Context, tx store.Tx, accountID string, fn func(account.LedgerEntry)) error {
	q := store.Query{Limit: 500}
	for {
		es, next, err := tx.Ledger().Entries(ctx, accountID, q)
		if err != nil {
			return err
		}
		for _, e := range es {
			fn(e)
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// Statement is an account's entries in [From, To) with the balances either side.
type Statement struct {
	AccountID string
	From, To  time.Time
	Opening   money.Money // the balance at From
	Closing   money.Money // the balance at To
	Entries   []account.LedgerEntry
}

// Statement lists an account's entries from (inclusive) to (exclusive), oldest first, with the
// opening and closing balances. A zero from means the beginning; a zero to means now.
func (a *App) Statement(ctx context.Context, accountID string, from, to time.Time) (*Statement, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, errs.Wrap("statement", err)
	}
	if to.IsZero() {
		to = a.now().Add(time.Microsecond)
	}
	if !from.Before(to) {
		return nil, errs.Field("from", "must be before to")
	}
	st := &Statement{AccountID: accountID, From: from.UTC(), To: to.UTC()}
	err := a.Store.View(ctx, func(tx store.Tx) error {
		acc, err := getAccount(ctx, tx, "account_id", accountID)
		if err != nil {
			return err
		}
		var opening, closing int64
		err = eachEntry(ctx, tx, acc.ID, func(e account.LedgerEntry) {
			if e.At.Before(to) {
				closing += e.Amount
				if e.At.Before(from) {
					opening += e.Amount
				} else {
					st.Entries = append(st.Entries, e)
				}
			}
		})
		slices.Reverse(st.Entries)
		st.Opening, st.Closing = money.New(opening, acc.Currency), money.New(closing, acc.Currency)
		return err
	})
	if err != nil {
		return nil, errs.Wrap("statement", err)
	}
	return st, nil
}

// LedgerProblems is what CheckLedger found wrong, one line each.
type LedgerProblems struct{ Problems []string }

func (p *LedgerProblems) Error() string { return strings.Join(p.Problems, "; ") }

// CheckLedger proves the ledger (admin): every transaction sums to zero per currency, every
// account's balance equals the sum of its entries and those entries are in its currency, and the
// sum of all entries is zero per currency. It returns an errs Conflict wrapping *LedgerProblems
// listing what is off, or nil.
func (a *App) CheckLedger(ctx context.Context) error {
	if err := require(ctx, account.RoleAdmin); err != nil {
		return errs.Wrap("check ledger", err)
	}
	var problems []string
	err := a.Store.View(ctx, func(tx store.Tx) error {
		bad, err := tx.Ledger().Check(ctx)
		if err != nil {
			return err
		}
		for _, id := range bad {
			if id == "*" {
				problems = append(problems, "ledger transactions without entries exist")
			} else {
				problems = append(problems, "transaction "+id+" does not sum to zero")
			}
		}
		totals := map[string]int64{}
		q := store.Query{Limit: 500}
		for {
			accs, next, err := tx.Accounts().List(ctx, q)
			if err != nil {
				return err
			}
			for i := range accs {
				if problems, err = checkAccount(ctx, tx, &accs[i], totals, problems); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			q.Cursor = next
		}
		for _, cur := range slices.Sorted(maps.Keys(totals)) {
			if totals[cur] != 0 {
				problems = append(problems, fmt.Sprintf("entries in %s sum to %d, not zero", cur, totals[cur]))
			}
		}
		return nil
	})
	if err != nil {
		return errs.Wrap("check ledger", err)
	}
	if len(problems) > 0 {
		return &errs.Error{Kind: errs.Conflict, Op: "check ledger", Msg: fmt.Sprintf("%d problem(s): %s", len(problems), strings.Join(problems, "; ")),
			Err: &LedgerProblems{Problems: problems}}
	}
	return nil
}

func checkAccount(ctx context.Context, tx store.Tx, acc *account.Account, totals map[string]int64, problems []string) ([]string, error) {
	var sum int64
	var foreign int
	err := eachEntry(ctx, tx, acc.ID, func(e account.LedgerEntry) {
		sum += e.Amount
		totals[e.Currency] += e.Amount
		if e.Currency != acc.Currency {
			foreign++
		}
	})
	if err != nil {
		return problems, err
	}
	bal, err := tx.Balance(ctx, acc.ID)
	if err != nil {
		return problems, err
	}
	if bal != sum {
		problems = append(problems, fmt.Sprintf("account %s: balance %d but its entries sum to %d", acc.ID, bal, sum))
	}
	if foreign > 0 {
		problems = append(problems, fmt.Sprintf("account %s (%s): %d entries in another currency", acc.ID, acc.Currency, foreign))
	}
	return problems, nil
}
