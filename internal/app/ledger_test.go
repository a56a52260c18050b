package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	a     *app.App
	clock *testClock
	n     int
}

func newFixture(t *testing.T, s store.Store) *fixture {
	clock := &testClock{t: t0}
	a := app.New(s, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(a.Close)
	return &fixture{t: t, a: a, clock: clock}
}

var (
	bg       = context.Background() // the System actor (admin)
	operator = app.WithActor(bg, app.Actor{UserID: "usr_operator", Role: account.RoleOperator})
	viewer   = app.WithActor(bg, app.Actor{UserID: "usr_viewer", Role: account.RoleViewer})
)

// purchaser creates a purchaser and returns their account id. limit is the credit limit in
// minor units.
func (f *fixture) purchaser(currency, group string, limit int64) string {
	f.t.Helper()
	f.n++
	u, err := app.Create(bg, f.a, app.Users, app.UserInput{Currency: currency, UserFields: account.UserFields{
		Name: fmt.Sprintf("Purchaser %d", f.n), Email: fmt.Sprintf("p%d@example.com", f.n), Role: account.RolePurchaser, GroupID: group}})
	if err != nil {
		f.t.Fatalf("create purchaser: %v", err)
	}
	if limit > 0 {
		patch := fmt.Sprintf(`{"credit_limit":%q}`, money.FormatMinor(limit, currency))
		if _, err := app.Patch(bg, f.a, app.Accounts, u.AccountID, []byte(patch)); err != nil {
			f.t.Fatalf("credit limit: %v", err)
		}
	}
	return u.AccountID
}

func (f *fixture) topUp(acc, amount, key string) *app.TopUp {
	f.t.Helper()
	tu, err := f.a.TopUp(operator, acc, app.TopUpInput{Amount: amount, Method: "counter"}, key)
	if err != nil {
		f.t.Fatalf("top up %s: %v", amount, err)
	}
	return tu
}

func (f *fixture) balance(acc string) int64 {
	f.t.Helper()
	var b int64
	if err := f.a.Store.View(bg, func(tx store.Tx) (err error) { b, err = tx.Balance(bg, acc); return }); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) mustCheck() {
	f.t.Helper()
	if err := f.a.CheckLedger(bg); err != nil {
		f.t.Fatalf("ledger check: %v", err)
	}
}

// wantErr checks an error's kind and field ("" kind: no error).
func wantErr(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	if kind == errs.Internal && field == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %s on %q", kind, field)
	}
	if errs.KindOf(err) != kind || errs.FieldOf(err) != field {
		t.Fatalf("error %v: kind %s field %q, want %s %q", err, errs.KindOf(err), errs.FieldOf(err), kind, field)
	}
}

const ok = errs.Internal // "no error" in the tables below

func TestTopUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		acc := f.purchaser("EUR", "", 0)
		inactive := f.purchaser("EUR", "", 0)
		if _, err := app.Deactivate(bg, f.a, app.Accounts, inactive); err != nil {
			t.Fatal(err)
		}
		declining := app.NewTestProvider()
		declining.Decline("card expired")
		f.a.SetPaymentProvider("card_online", declining)
		f.topUp(acc, "50.00", "seed")

		cases := []struct {
			name    string
			ctx     context.Context
			acc     string
			in      app.TopUpInput
			key     string
			kind    errs.Kind
			field   string
			balance int64 // of acc afterwards
		}{
			{"top up", operator, acc, app.TopUpInput{Amount: "12.34", Currency: "EUR", Method: "card_terminal", Reference: "R-1"}, "k1", ok, "", 6234},
			{"same key moves nothing", operator, acc, app.TopUpInput{Amount: "12.34", Currency: "EUR", Method: "card_terminal"}, "k1", ok, "", 6234},
			{"same key, other body: first result", operator, acc, app.TopUpInput{Amount: "99.00", Currency: "EUR", Method: "voucher"}, "k1", ok, "", 6234},
			{"currency defaults to the account's", operator, acc, app.TopUpInput{Amount: "1", Method: "voucher"}, "k2", ok, "", 6334},
			{"excess precision refused", operator, acc, app.TopUpInput{Amount: "10.001", Currency: "EUR", Method: "counter"}, "k3", errs.Invalid, "amount", 6334},
			{"not a number", operator, acc, app.TopUpInput{Amount: "ten", Currency: "EUR", Method: "counter"}, "k3", errs.Invalid, "amount", 6334},
			{"currency mismatch", operator, acc, app.TopUpInput{Amount: "10", Currency: "USD", Method: "counter"}, "k3", errs.Invalid, "currency", 6334},
			{"unknown currency", operator, acc, app.TopUpInput{Amount: "10", Currency: "EUX", Method: "counter"}, "k3", errs.Invalid, "currency", 6334},
			{"zero refused", operator, acc, app.TopUpInput{Amount: "0.00", Currency: "EUR", Method: "counter"}, "k3", errs.Invalid, "amount", 6334},
			{"negative refused", operator, acc, app.TopUpInput{Amount: "-5", Currency: "EUR", Method: "counter"}, "k3", errs.Invalid, "amount", 6334},
			{"unknown method", operator, acc, app.TopUpInput{Amount: "5", Currency: "EUR", Method: "bitcoin"}, "k3", errs.Invalid, "method", 6334},
			{"key required", operator, acc, app.TopUpInput{Amount: "5", Currency: "EUR", Method: "counter"}, "", errs.Invalid, "idempotency_key", 6334},
			{"viewer forbidden", viewer, acc, app.TopUpInput{Amount: "5", Currency: "EUR", Method: "counter"}, "k3", errs.Forbidden, "", 6334},
			{"inactive account refused", operator, inactive, app.TopUpInput{Amount: "5", Currency: "EUR", Method: "counter"}, "k3", errs.Invalid, "account_id", 6334},
			{"unknown account", operator, "acc_nope", app.TopUpInput{Amount: "5", Currency: "EUR", Method: "counter"}, "k3", errs.NotFound, "account_id", 6334},
			{"system account refused", operator, "sys_cash_EUR", app.TopUpInput{Amount: "5", Currency: "EUR", Method: "counter"}, "k3", errs.Invalid, "account_id", 6334},
			{"declined payment moves nothing", operator, acc, app.TopUpInput{Amount: "5", Currency: "EUR", Method: "card_online"}, "k4", errs.InsufficientFunds, "method", 6334},
		}
		var first *app.TopUp
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				tu, err := f.a.TopUp(c.ctx, c.acc, c.in, c.key)
				wantErr(t, err, c.kind, c.field)
				if got := f.balance(acc); got != c.balance {
					t.Errorf("balance %d, want %d", got, c.balance)
				}
				if err == nil && c.key == "k1" {
					if first == nil {
						first = tu
					} else if tu.ID != first.ID || tu.LedgerTxID != first.LedgerTxID || tu.Balance != first.Balance || tu.Amount != first.Amount || !tu.Replayed {
						t.Errorf("replay = %+v, want the first %+v", tu, first)
					}
				}
			})
		}
		if first.Balance.Minor != 6234 || first.Amount != money.New(1234, "EUR") || first.Method != "card_terminal" || first.Reference != "R-1" || first.Provider != "counter" {
			t.Errorf("first top-up = %+v", first)
		}
		if calls := declining.Calls(); len(calls) != 1 || !calls[0].Declined {
			t.Errorf("declining provider calls = %+v", calls)
		}
		list, _, err := f.a.TopUps(viewer, acc, store.Query{})
		if err != nil || len(list) != 3 || list[0].Amount.Minor != 100 || list[2].Amount.Minor != 5000 {
			t.Errorf("top-ups = %+v, %v", list, err)
		}
		f.mustCheck()
	})
}

// TestTopUpProviderOncePerKey: a repeated key does not reach the provider again, and concurrent
// requests with one key post once.
func TestTopUpProviderOncePerKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		acc := f.purchaser("EUR", "", 0)
		p := app.NewTestProvider()
		f.a.SetPaymentProvider("counter", p)
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Go(func() {
				tu, err := f.a.TopUp(operator, acc, app.TopUpInput{Amount: "20.00", Currency: "EUR", Method: "counter"}, "same")
				if err != nil {
					t.Errorf("top up: %v", err)
					return
				}
				ids[i] = tu.ID
			})
		}
		wg.Wait()
		before := len(p.Calls())
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("top-up ids differ: %v", ids)
			}
		}
		if got := f.balance(acc); got != 2000 {
			t.Fatalf("balance %d, want 2000", got)
		}
		if _, err := f.a.TopUp(operator, acc, app.TopUpInput{Amount: "20.00", Currency: "EUR", Method: "counter"}, "same"); err != nil {
			t.Fatal(err)
		}
		calls := p.Calls()
		for _, c := range calls {
			if c.IdemKey != calls[0].IdemKey {
				t.Errorf("provider keys differ: %+v", calls)
			}
		}
		if len(calls) != before || before > len(ids) { // the last request was answered from the ledger
			t.Errorf("provider called %d times, %d before the last request", len(calls), before)
		}
		f.mustCheck()
	})
}

func TestHoldAndSettle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		cases := []struct {
			name                 string
			topUp                string
			limit                int64
			want, cost           int64
			held, balance, debt  int64 // debt: over_credit_limit_minor of the capture
			captures, releases   bool
			settleAgainWithCost  int64
			holdAgainReturnsHeld bool
		}{
			{name: "cost below hold", topUp: "50.00", want: 2000, cost: 1234, held: 2000, balance: 5000 - 1234, captures: true, releases: true},
			{name: "cost equals hold", topUp: "50.00", want: 2000, cost: 2000, held: 2000, balance: 3000, captures: true},
			{name: "cost above hold: excess from the account", topUp: "50.00", want: 2000, cost: 2600, held: 2000, balance: 2400, captures: true},
			{name: "hold larger than balance holds what is there", topUp: "5.00", want: 2000, cost: 300, held: 500, balance: 200, captures: true, releases: true},
			{name: "credit limit counts as available", topUp: "5.00", limit: 1000, want: 2000, cost: 1200, held: 1500, balance: -700, captures: true, releases: true},
			{name: "cost beyond the credit limit is recorded and flagged", topUp: "5.00", limit: 1000, want: 2000, cost: 2000, held: 1500, balance: -1500, debt: 500, captures: true},
			{name: "nothing available: no hold, cost still captured", topUp: "", want: 2000, cost: 700, held: 0, balance: -700, debt: 700, captures: true},
			{name: "zero cost releases the whole hold", topUp: "50.00", want: 2000, cost: 0, held: 2000, balance: 5000, releases: true},
			{name: "settle twice moves nothing the second time", topUp: "50.00", want: 2000, cost: 500, held: 2000, balance: 4500, captures: true, releases: true, settleAgainWithCost: 4000},
			{name: "hold twice holds once", topUp: "50.00", want: 2000, cost: 500, held: 2000, balance: 4500, captures: true, releases: true, holdAgainReturnsHeld: true},
		}
		f := newFixture(t, s)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				acc := f.purchaser("EUR", "", c.limit)
				sid := fmt.Sprintf("ses_%d", i)
				if c.topUp != "" {
					f.topUp(acc, c.topUp, "t"+sid)
				}
				before := f.balance(acc)
				var held int64
				err := f.a.Store.InTx(bg, func(tx store.Tx) (err error) { held, err = f.a.HoldTx(bg, tx, acc, sid, c.want); return })
				wantErr(t, err, ok, "")
				if held != c.held || f.balance(acc) != before-held {
					t.Fatalf("held %d (balance %d), want %d", held, f.balance(acc), c.held)
				}
				if c.holdAgainReturnsHeld {
					var again int64
					err := f.a.Store.InTx(bg, func(tx store.Tx) (err error) { again, err = f.a.HoldTx(bg, tx, acc, sid, 9999); return })
					if err != nil || again != held || f.balance(acc) != before-held {
						t.Fatalf("second hold: %d, %v; balance %d", again, err, f.balance(acc))
					}
				}
				settle := func(cost int64) error {
					return f.a.Store.InTx(bg, func(tx store.Tx) error { return f.a.SettleTx(bg, tx, acc, sid, cost) })
				}
				wantErr(t, settle(c.cost), ok, "")
				if c.settleAgainWithCost > 0 {
					wantErr(t, settle(c.settleAgainWithCost), ok, "")
				}
				if got := f.balance(acc); got != c.balance {
					t.Errorf("balance %d, want %d", got, c.balance)
				}
				var capture, release *account.LedgerTx
				_ = f.a.Store.View(bg, func(tx store.Tx) error {
					capture, _ = tx.Ledger().ByKey(bg, "capture:"+sid)
					release, _ = tx.Ledger().ByKey(bg, "release:"+sid)
					return nil
				})
				if (capture != nil) != c.captures || (release != nil) != c.releases {
					t.Fatalf("capture %v release %v, want %v %v", capture != nil, release != nil, c.captures, c.releases)
				}
				if capture != nil {
					var x struct {
						Over int64 `json:"over_credit_limit_minor"`
					}
					_ = json.Unmarshal(capture.Extra, &x)
					if x.Over != c.debt {
						t.Errorf("over the credit limit by %d, want %d (%s)", x.Over, c.debt, capture.Extra)
					}
				}
			})
		}
		// Every hold was captured or released: the holds account is back to zero.
		if got := f.balance(app.SystemAccountID(app.SysHolds, "EUR")); got != 0 {
			t.Errorf("holds account %d, want 0", got)
		}
		f.mustCheck()
	})
}

func TestRefundAdjustTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		a1 := f.purchaser("EUR", "fleet-a", 1000)
		a2 := f.purchaser("EUR", "fleet-a", 0)
		b1 := f.purchaser("EUR", "fleet-b", 0)
		loner := f.purchaser("EUR", "", 0)
		usd := f.purchaser("USD", "fleet-a", 0)
		f.topUp(a1, "30.00", "a1")
		f.topUp(loner, "30.00", "loner")
		// a session on a1 charged 8.00
		if err := f.a.Store.InTx(bg, func(tx store.Tx) error {
			if _, err := f.a.HoldTx(bg, tx, a1, "ses_r", 2000); err != nil {
				return err
			}
			return f.a.SettleTx(bg, tx, a1, "ses_r", 800)
		}); err != nil {
			t.Fatal(err)
		}
		eur := func(minor int64) money.Money { return money.New(minor, "EUR") }
		type op func() (*account.LedgerTx, error)
		cases := []struct {
			name     string
			do       op
			kind     errs.Kind
			field    string
			balances map[string]int64
		}{
			{"refund part of a session", func() (*account.LedgerTx, error) {
				return f.a.Refund(operator, a1, eur(300), "ses_r", "slow charger", "r1")
			},
				ok, "", map[string]int64{a1: 2500}},
			{"refund again with the same key moves nothing", func() (*account.LedgerTx, error) { return f.a.Refund(operator, a1, eur(300), "ses_r", "", "r1") },
				ok, "", map[string]int64{a1: 2500}},
			{"refund beyond what the session cost", func() (*account.LedgerTx, error) { return f.a.Refund(operator, a1, eur(501), "ses_r", "", "r2") },
				errs.Invalid, "amount", map[string]int64{a1: 2500}},
			{"refund in another currency", func() (*account.LedgerTx, error) {
				return f.a.Refund(operator, a1, money.New(100, "USD"), "", "", "r3")
			}, errs.Invalid, "currency", nil},
			{"refund by a viewer", func() (*account.LedgerTx, error) { return f.a.Refund(viewer, a1, eur(100), "", "", "r4") }, errs.Forbidden, "", nil},
			{"adjust down by an admin", func() (*account.LedgerTx, error) { return f.a.Adjust(bg, a1, eur(-500), "duplicate top-up", "j1") },
				ok, "", map[string]int64{a1: 2000}},
			{"adjust again with the same key", func() (*account.LedgerTx, error) { return f.a.Adjust(bg, a1, eur(-500), "duplicate top-up", "j1") },
				ok, "", map[string]int64{a1: 2000}},
			{"adjust by an operator is forbidden", func() (*account.LedgerTx, error) { return f.a.Adjust(operator, a1, eur(500), "goodwill", "j2") },
				errs.Forbidden, "", map[string]int64{a1: 2000}},
			{"adjust without a reason", func() (*account.LedgerTx, error) { return f.a.Adjust(bg, a1, eur(500), "  ", "j3") }, errs.Invalid, "reason", nil},
			{"adjust by zero", func() (*account.LedgerTx, error) { return f.a.Adjust(bg, a1, eur(0), "nothing", "j4") }, errs.Invalid, "amount", nil},
			{"adjust with excess precision is impossible: amounts are minor units", func() (*account.LedgerTx, error) {
				return f.a.Adjust(bg, a1, money.New(1, "XXX"), "bad currency", "j5")
			}, errs.Invalid, "currency", nil},
			{"transfer within a group", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, a1, a2, eur(1500), "x1") },
				ok, "", map[string]int64{a1: 500, a2: 1500}},
			{"transfer again with the same key", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, a1, a2, eur(1500), "x1") },
				ok, "", map[string]int64{a1: 500, a2: 1500}},
			{"transfer into the credit limit", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, a1, a2, eur(1500), "x2") },
				ok, "", map[string]int64{a1: -1000, a2: 3000}},
			{"transfer beyond the credit limit", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, a1, a2, eur(1), "x3") },
				errs.InsufficientFunds, "amount", map[string]int64{a1: -1000, a2: 3000}},
			{"transfer across groups", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, a2, b1, eur(100), "x4") },
				errs.Invalid, "to_account_id", map[string]int64{a2: 3000, b1: 0}},
			{"transfer without a group", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, loner, a2, eur(100), "x5") },
				errs.Invalid, "to_account_id", map[string]int64{loner: 3000}},
			{"transfer across currencies", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, a2, usd, eur(100), "x6") },
				errs.Invalid, "to_account_id", map[string]int64{a2: 3000, usd: 0}},
			{"transfer to itself", func() (*account.LedgerTx, error) { return f.a.Transfer(operator, a2, a2, eur(100), "x7") }, errs.Invalid, "to_account_id", nil},
			{"transfer to a system account", func() (*account.LedgerTx, error) {
				return f.a.Transfer(operator, a2, app.SystemAccountID(app.SysCash, "EUR"), eur(100), "x8")
			}, errs.Invalid, "to_account_id", nil},
			{"transfer by a viewer", func() (*account.LedgerTx, error) { return f.a.Transfer(viewer, a2, a1, eur(100), "x9") }, errs.Forbidden, "", nil},
		}
		seen := map[string]string{}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				lt, err := c.do()
				wantErr(t, err, c.kind, c.field)
				for acc, want := range c.balances {
					if got := f.balance(acc); got != want {
						t.Errorf("balance of %s = %d, want %d", acc, got, want)
					}
				}
				if lt != nil {
					if prev, ok := seen[lt.IdemKey]; ok && prev != lt.ID {
						t.Errorf("same key, another transaction: %s and %s", prev, lt.ID)
					}
					seen[lt.IdemKey] = lt.ID
				}
			})
		}
		f.mustCheck()
	})
}

// TestConcurrentTransfersRespectTheLimit: postings that depend on a balance are serialised per
// account, so concurrent transfers never take an account beyond its credit limit.
func TestConcurrentTransfersRespectTheLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		from := f.purchaser("EUR", "g", 0)
		to := []string{f.purchaser("EUR", "g", 0), f.purchaser("EUR", "g", 0)}
		f.topUp(from, "10.00", "seed")
		var wg sync.WaitGroup
		var mu sync.Mutex
		done := 0
		for i := range 24 {
			wg.Go(func() {
				_, err := f.a.Transfer(operator, from, to[i%2], money.New(100, "EUR"), fmt.Sprint("c", i))
				switch {
				case err == nil:
					mu.Lock()
					done++
					mu.Unlock()
				case !errs.Is(err, errs.InsufficientFunds):
					t.Errorf("transfer: %v", err)
				}
			})
		}
		wg.Wait()
		if done != 10 || f.balance(from) != 0 || f.balance(to[0])+f.balance(to[1]) != 1000 {
			t.Errorf("%d transfers; balances %d, %d, %d", done, f.balance(from), f.balance(to[0]), f.balance(to[1]))
		}
		f.mustCheck()
	})
}

func TestStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		acc := f.purchaser("EUR", "", 0)
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
		f.clock.Set(at(1))
		f.topUp(acc, "50.00", "s1")
		f.clock.Set(at(2))
		f.topUp(acc, "10.00", "s2")
		f.clock.Set(at(3))
		if _, err := f.a.Adjust(bg, acc, money.New(-250, "EUR"), "correction", "s3"); err != nil {
			t.Fatal(err)
		}
		f.clock.Set(at(4))
		cases := []struct {
			name             string
			from, to         time.Time
			opening, closing int64
			entries          []int64
			field            string
		}{
			{"everything", time.Time{}, time.Time{}, 0, 5750, []int64{5000, 1000, -250}, ""},
			{"middle", at(2), at(3), 5000, 6000, []int64{1000}, ""},
			{"from is inclusive, to exclusive", at(1), at(3), 0, 6000, []int64{5000, 1000}, ""},
			{"after everything", at(3).Add(time.Second), at(5), 5750, 5750, nil, ""},
			{"from after to", at(3), at(2), 0, 0, nil, "from"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				st, err := f.a.Statement(viewer, acc, c.from, c.to)
				if c.field != "" {
					wantErr(t, err, errs.Invalid, c.field)
					return
				}
				wantErr(t, err, ok, "")
				var got []int64
				for _, e := range st.Entries {
					got = append(got, e.Amount)
				}
				if st.Opening.Minor != c.opening || st.Closing.Minor != c.closing || fmt.Sprint(got) != fmt.Sprint(c.entries) {
					t.Errorf("opening %d closing %d entries %v; want %d %d %v", st.Opening.Minor, st.Closing.Minor, got, c.opening, c.closing, c.entries)
				}
			})
		}
	})
}

// TestCheckLedgerFindsDamage: an entry written past the use cases is reported.
func TestCheckLedgerFindsDamage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		acc := f.purchaser("EUR", "", 0)
		tu := f.topUp(acc, "5.00", "d1")
		f.mustCheck()
		db, ok := s.(interface{ SQL() *sql.DB })
		if !ok {
			t.Skip("store has no SQL handle")
		}
		q := "INSERT INTO ledger_entries (id, tx_id, account_id, amount, currency, created_at) VALUES ('len_bad', '" + tu.LedgerTxID + "', '" + acc + "', 1, 'EUR', 0)"
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
		err := f.a.CheckLedger(bg)
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("check = %v, want a conflict", err)
		}
		var lp *app.LedgerProblems
		if !errors.As(err, &lp) || len(lp.Problems) != 3 { // the transaction, the EUR total, and the account's running balance
			t.Fatalf("problems = %v", err)
		}
		// A running balance changed past the postings is reported on its own.
		if _, err := db.SQL().Exec("DELETE FROM ledger_entries WHERE id = 'len_bad'"); err != nil {
			t.Fatal(err)
		}
		f.mustCheck()
		if _, err := db.SQL().Exec("UPDATE account_balances SET balance = balance + 7 WHERE account_id = '" + acc + "'"); err != nil {
			t.Fatal(err)
		}
		err = f.a.CheckLedger(bg)
		if !errors.As(err, &lp) || len(lp.Problems) != 1 || !strings.Contains(lp.Problems[0], acc) {
			t.Fatalf("tampered balance: %v", err)
		}
		if err := f.a.CheckLedger(operator); !errs.Is(err, errs.Forbidden) {
			t.Errorf("operator check = %v", err)
		}
	})
}

// TestLedgerProperty runs a few hundred random operations over several accounts (top-ups,
// holds, settles, refunds, transfers, adjustments, some with repeated keys) and proves after each
// step that every balance equals the sum of its entries and the model's figure, that all entries
// sum to zero, and that CheckLedger passes.
func TestLedgerProperty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		r := rand.New(rand.NewPCG(2026, 11))
		type acct struct {
			id    string
			limit int64
		}
		accts := []acct{}
		for i, g := range []string{"g1", "g1", "g1", "g2", "g2", ""} {
			limit := int64(0)
			if i%2 == 0 {
				limit = 1500
			}
			accts = append(accts, acct{f.purchaser("EUR", g, limit), limit})
		}
		groups := map[string]string{}
		for i, g := range []string{"g1", "g1", "g1", "g2", "g2", ""} {
			groups[accts[i].id] = g
		}
		model := map[string]int64{}      // expected purchaser balances
		holds := map[string][2]int64{}   // open session → (account index, held)
		keys := []string{}               // keys used so far, to repeat some
		charged := map[string][2]int64{} // session → (account index, cost), for refunds
		refunded := map[string]int64{}   // session → refunded
		done := map[string]struct{}{}    // keys that moved money
		steps := 300
		if testing.Short() {
			steps = 100
		}
		for step := range steps {
			i := r.IntN(len(accts))
			ac := accts[i]
			amt := int64(1 + r.IntN(3000))
			key := fmt.Sprintf("k%d", step)
			if len(keys) > 0 && r.IntN(8) == 0 {
				key = keys[r.IntN(len(keys))] // repeated key: must move nothing new
			}
			keys = append(keys, key)
			desc := ""
			var err error
			switch op := r.IntN(7); op {
			case 0, 1:
				desc = fmt.Sprintf("top up %s by %d (%s)", ac.id, amt, key)
				_, err = f.a.TopUp(operator, ac.id, app.TopUpInput{Amount: money.FormatMinor(amt, "EUR"), Currency: "EUR", Method: "counter"}, key)
				if _, seen := done["topup:"+ac.id+":"+key]; err == nil && !seen {
					model[ac.id] += amt
					done["topup:"+ac.id+":"+key] = struct{}{}
				}
			case 2:
				sid := fmt.Sprintf("ses_%d", step)
				if r.IntN(4) == 0 && len(holds) > 0 {
					sid = pick(r, holds) // hold again for an open session: returns the first figure
				}
				desc = fmt.Sprintf("hold %d for %s on %s", amt, sid, ac.id)
				if h, open := holds[sid]; open {
					ac, i = accts[h[0]], int(h[0])
				}
				var held int64
				err = f.a.Store.InTx(bg, func(tx store.Tx) (err error) { held, err = f.a.HoldTx(bg, tx, ac.id, sid, amt); return })
				if h, open := holds[sid]; open && h[1] > 0 {
					if held != h[1] {
						t.Fatalf("step %d: hold again returned %d, first %d", step, held, h[1])
					}
				} else if err == nil { // new, or held nothing before (nothing was posted)
					want := max(0, min(amt, model[ac.id]+ac.limit))
					if held != want {
						t.Fatalf("step %d: %s held %d, want %d", step, desc, held, want)
					}
					model[ac.id] -= held
					holds[sid] = [2]int64{int64(i), held}
				}
			case 3:
				if len(holds) == 0 {
					continue
				}
				sid := pick(r, holds)
				h := holds[sid]
				ac = accts[h[0]]
				cost := int64(r.IntN(int(h[1]) + 2000))
				desc = fmt.Sprintf("settle %s on %s: held %d cost %d", sid, ac.id, h[1], cost)
				err = f.a.Store.InTx(bg, func(tx store.Tx) error { return f.a.SettleTx(bg, tx, ac.id, sid, cost) })
				if err == nil {
					model[ac.id] += h[1] - cost
					delete(holds, sid)
					if cost > 0 {
						charged[sid] = [2]int64{h[0], cost}
					}
					// settling again moves nothing
					if err := f.a.Store.InTx(bg, func(tx store.Tx) error { return f.a.SettleTx(bg, tx, ac.id, sid, cost+1) }); err != nil {
						t.Fatalf("step %d: settle again: %v", step, err)
					}
				}
			case 4:
				if len(charged) == 0 {
					continue
				}
				sid := pick(r, charged)
				c := charged[sid]
				ac = accts[c[0]]
				desc = fmt.Sprintf("refund %d of %s to %s (%s)", amt, sid, ac.id, key)
				_, err = f.a.Refund(operator, ac.id, money.New(amt, "EUR"), sid, "test", key)
				k := "refund:" + ac.id + ":" + key
				if _, seen := done[k]; err == nil && !seen {
					model[ac.id] += amt
					refunded[sid] += amt
					done[k] = struct{}{}
				} else if err != nil && errs.Is(err, errs.Invalid) && refunded[sid]+amt > c[1] {
					err = nil // refused as it must be
				}
			case 5:
				j := r.IntN(len(accts))
				to := accts[j]
				desc = fmt.Sprintf("transfer %d from %s to %s (%s)", amt, ac.id, to.id, key)
				_, err = f.a.Transfer(operator, ac.id, to.id, money.New(amt, "EUR"), key)
				k := "transfer:" + ac.id + ":" + key
				_, seen := done[k]
				switch {
				case err == nil && !seen:
					if model[ac.id]-amt < -ac.limit {
						t.Fatalf("step %d: %s went beyond the credit limit", step, desc)
					}
					model[ac.id] -= amt
					model[to.id] += amt
					done[k] = struct{}{}
				case err == nil:
				case groups[ac.id] == "" || groups[ac.id] != groups[to.id] || i == j:
					wantErr(t, err, errs.Invalid, "to_account_id")
					err = nil
				case model[ac.id]-amt < -ac.limit:
					wantErr(t, err, errs.InsufficientFunds, "amount")
					err = nil
				}
			case 6:
				signed := amt - 1500
				if signed == 0 {
					signed = 1
				}
				desc = fmt.Sprintf("adjust %s by %d (%s)", ac.id, signed, key)
				_, err = f.a.Adjust(bg, ac.id, money.New(signed, "EUR"), "property test", key)
				k := "adjustment:" + ac.id + ":" + key
				if _, seen := done[k]; err == nil && !seen {
					model[ac.id] += signed
					done[k] = struct{}{}
				}
			}
			if err != nil {
				t.Fatalf("step %d: %s: %v", step, desc, err)
			}
			proveLedger(t, f, step, desc, model)
		}
		if err := f.a.CheckLedger(bg); err != nil {
			t.Fatal(err)
		}
	})
}

// pick returns a key of m chosen by r; sorting first keeps a run reproducible from its seed.
func pick[V any](r *rand.Rand, m map[string]V) string {
	keys := slices.Sorted(maps.Keys(m))
	return keys[r.IntN(len(keys))]
}

// proveLedger checks after a step: each purchaser balance is the model's, each balance is the
// sum of its entries, all entries sum to zero, and CheckLedger passes.
func proveLedger(t *testing.T, f *fixture, step int, desc string, model map[string]int64) {
	t.Helper()
	var total int64
	err := f.a.Store.View(bg, func(tx store.Tx) error {
		accs, _, err := tx.Accounts().List(bg, store.Query{Limit: 500})
		if err != nil {
			return err
		}
		for _, acc := range accs {
			bal, err := tx.Balance(bg, acc.ID)
			if err != nil {
				return err
			}
			var sum int64
			q := store.Query{Limit: 500}
			for {
				es, next, err := tx.Ledger().Entries(bg, acc.ID, q)
				if err != nil {
					return err
				}
				for _, e := range es {
					sum += e.Amount
				}
				if next == "" {
					break
				}
				q.Cursor = next
			}
			if sum != bal {
				t.Fatalf("step %d (%s): %s balance %d, entries sum %d", step, desc, acc.ID, bal, sum)
			}
			if want, ok := model[acc.ID]; ok && want != bal {
				t.Fatalf("step %d (%s): %s balance %d, model %d", step, desc, acc.ID, bal, want)
			}
			total += sum
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 0 {
		t.Fatalf("step %d (%s): all entries sum to %d", step, desc, total)
	}
	if err := f.a.CheckLedger(bg); err != nil {
		t.Fatalf("step %d (%s): %v", step, desc, err)
	}
}
