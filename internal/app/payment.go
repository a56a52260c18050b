package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"weak"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

// PaymentProvider collects the money of a top-up before it is posted to the ledger: the seam a
// real card-payment provider fills.
//
// Collect must be idempotent by idemKey: called again with a key it has already collected for, it
// returns the first reference and charges nothing more. TopUp relies on this when a client
// retries after the money was collected but before the posting committed (a crash or a lost
// connection in between). A declined payment returns an error of kind errs.InsufficientFunds
// (HTTP 402); any error without a kind is reported as errs.Unavailable (HTTP 503). Either way
// nothing is posted.
type PaymentProvider interface {
	Name() string
	Collect(ctx context.Context, amount money.Money, reference, idemKey string) (providerRef string, err error)
}

// Top-up methods every App accepts; each is served by CounterProvider until replaced.
const (
	MethodCounter      = "counter"
	MethodCardTerminal = "card_terminal"
	MethodBankTransfer = "bank_transfer"
	MethodVoucher      = "voucher"
)

// CounterProvider records money received at the counter (cash, the counter's card terminal, a
// bank transfer seen on the statement, a voucher): the operator already holds the money, so it
// always succeeds. Its reference is the one the operator typed, or one derived from the key.
type CounterProvider struct{}

// Name returns "counter".
func (CounterProvider) Name() string { return "counter" }

// Collect accepts the payment.
func (CounterProvider) Collect(_ context.Context, _ money.Money, reference, idemKey string) (string, error) {
	if reference != "" {
		return reference, nil
	}
	h := sha256.Sum256([]byte(idemKey))
	return "counter-" + hex.EncodeToString(h[:6]), nil
}

// PaymentCall is one call a TestProvider received.
type PaymentCall struct {
	Amount    money.Money
	Reference string
	IdemKey   string
	Declined  bool
}

// TestProvider is a provider for tests: it records every call, is idempotent by key as a real
// provider must be, and declines when told to.
type TestProvider struct {
	mu      sync.Mutex
	calls   []PaymentCall
	refs    map[string]string
	decline string
}

// NewTestProvider returns a provider that accepts payments.
func NewTestProvider() *TestProvider { return &TestProvider{refs: map[string]string{}} }

// Name returns "test".
func (p *TestProvider) Name() string { return "test" }

// Decline makes later payments fail with reason; Decline("") accepts them again.
func (p *TestProvider) Decline(reason string) {
	p.mu.Lock()
	p.decline = reason
	p.mu.Unlock()
}

// Calls returns the calls received so far.
func (p *TestProvider) Calls() []PaymentCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// Collect records the call and accepts or declines it.
func (p *TestProvider) Collect(_ context.Context, amount money.Money, reference, idemKey string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ref, ok := p.refs[idemKey]; ok {
		p.calls = append(p.calls, PaymentCall{Amount: amount, Reference: reference, IdemKey: idemKey})
		return ref, nil
	}
	if p.decline != "" {
		p.calls = append(p.calls, PaymentCall{Amount: amount, Reference: reference, IdemKey: idemKey, Declined: true})
		return "", errs.E(errs.InsufficientFunds, "payment declined: %s", p.decline)
	}
	p.calls = append(p.calls, PaymentCall{Amount: amount, Reference: reference, IdemKey: idemKey})
	ref := "test-" + strconv.Itoa(len(p.refs)+1)
	p.refs[idemKey] = ref
	return ref, nil
}

// ledgerState is what the ledger keeps per App without a field in App: the payment providers by
// method, and the system accounts known to exist (committed), so a top-up does not look them up.
type ledgerState struct {
	mu        sync.RWMutex
	providers map[string]PaymentProvider
	sys       sync.Map // account id → struct{}
}

// ledgerStates maps an App (weakly: an App that is no longer used is collected and its entry
// removed) to its ledger state.
var ledgerStates sync.Map // weak.Pointer[App] → *ledgerState

func (a *App) ledgerState() *ledgerState {
	wp := weak.Make(a)
	if st, ok := ledgerStates.Load(wp); ok {
		return st.(*ledgerState)
	}
	fresh := &ledgerState{providers: map[string]PaymentProvider{}}
	for _, m := range []string{MethodCounter, MethodCardTerminal, MethodBankTransfer, MethodVoucher} {
		fresh.providers[m] = CounterProvider{}
	}
	st, loaded := ledgerStates.LoadOrStore(wp, fresh)
	if !loaded {
		runtime.AddCleanup(a, func(wp weak.Pointer[App]) { ledgerStates.Delete(wp) }, wp)
	}
	return st.(*ledgerState)
}

// SetPaymentProvider makes p collect the top-ups of a method (a new method name adds a method);
// nil removes the method.
func (a *App) SetPaymentProvider(method string, p PaymentProvider) {
	st := a.ledgerState()
	st.mu.Lock()
	defer st.mu.Unlock()
	if p == nil {
		delete(st.providers, method)
		return
	}
	st.providers[method] = p
}

// PaymentProviderFor returns the provider of a top-up method.
func (a *App) PaymentProviderFor(method string) (PaymentProvider, bool) {
	st := a.ledgerState()
	st.mu.RLock()
	defer st.mu.RUnlock()
	p, ok := st.providers[method]
	return p, ok
}

// PaymentMethods lists the accepted top-up methods, sorted.
func (a *App) PaymentMethods() []string {
	st := a.ledgerState()
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]string, 0, len(st.providers))
	for m := range st.providers {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// collect asks a provider for the money, turning errors without a kind into Unavailable.
func collect(ctx context.Context, p PaymentProvider, amount money.Money, reference, idemKey string) (string, error) {
	ref, err := p.Collect(ctx, amount, reference, idemKey)
	if err == nil {
		return ref, nil
	}
	if errs.KindOf(err) == errs.Internal {
		return "", &errs.Error{Kind: errs.Unavailable, Field: "method", Msg: "payment provider " + p.Name() + " failed", Err: err}
	}
	return "", &errs.Error{Kind: errs.KindOf(err), Field: "method", Msg: errs.Message(err)}
}
