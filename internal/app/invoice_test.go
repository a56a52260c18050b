package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// invClock is a clock the invoice tests move.
type invClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *invClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *invClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type invFixture struct {
	t     *testing.T
	s     store.Store
	a     *app.App
	clock *invClock
	n     int
}

func newInvFixture(t *testing.T, s store.Store) *invFixture {
	clock := &invClock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	a := app.New(s, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(a.Close)
	if err := a.SetInvoiceOptions(app.InvoiceOptions{TimeZone: "Europe/Amsterdam", Issuer: "EVCS Charging B.V.", VATID: "NL000099998B57"}); err != nil {
		t.Fatal(err)
	}
	return &invFixture{t: t, s: s, a: a, clock: clock}
}

func (f *invFixture) purchaser() string {
	f.t.Helper()
	f.n++
	u, err := app.Create(context.Background(), f.a, app.Users, app.UserInput{UserFields: account.UserFields{
		Name: fmt.Sprintf("Jörg Purchaser %d", f.n), Email: fmt.Sprintf("inv%d@example.com", f.n), Role: account.RolePurchaser}})
	if err != nil {
		f.t.Fatal(err)
	}
	return u.AccountID
}

// cdr stores a rated CDR created at `at` (as the end of a session does).
func (f *invFixture) cdr(acc string, at time.Time, tariffID string, totalMinor int64, costs string) string {
	f.t.Helper()
	id := ids.New("ses")
	rec := billing.CDRRecord{ID: ids.New("cdr"), SessionID: id, AccountID: acc, StationID: "CP-INV", TariffID: tariffID, TariffVersion: 1,
		Currency: "EUR", TotalMinor: totalMinor, EnergyWh: 12345, CreatedAt: at,
		CDR: []byte(`{"start_date_time":"` + at.Add(-time.Hour).Format(time.RFC3339) + `","end_date_time":"` + at.Format(time.RFC3339) + `","total_time":1,` + costs + `}`)}
	if err := f.s.InTx(context.Background(), func(tx store.Tx) error { return tx.CDRs().Create(context.Background(), &rec) }); err != nil {
		f.t.Fatal(err)
	}
	return id
}

const invTariffBody = `{"currency":"EUR","elements":[{"price_components":[{"type":"FLAT","price":1.00,"vat":21,"step_size":1},
 {"type":"ENERGY","price":0.25,"vat":21,"step_size":1},{"type":"PARKING_TIME","price":2.00,"vat":9,"step_size":60}]}]}`

func (f *invFixture) tariff() string {
	f.t.Helper()
	rec, err := f.a.CreateTariff(context.Background(), []byte(invTariffBody))
	if err != nil {
		f.t.Fatal(err)
	}
	return rec.ID
}

// TestInvoiceRun: a month's invoice and credit note for one purchaser, none for a purchaser with
// nothing in the month, the month cut in the operator's time zone, idempotent runs, PDFs.
//
// Hand derivation (tariff: start fee and energy at 21 %, parking at 9 %):
//
//	session 1 (5 Nov): energy 4.04                → 21 %
//	session 2 (20 Nov): start fee 1.00, energy 2.00 → 21 %; parking 0.50 → 9 %
//	session 3 (1 Dec 00:30 Amsterdam = 30 Nov 23:30 UTC): December, not on November's invoice
//	21 %: 4.04 + 3.00 = 7.04 × 0.21 = 1.4784 → 1.48
//	 9 %: 0.50 × 0.09 = 0.045 → 0.05 (half-up)
//	excl 7.54, VAT 1.53, total 9.07; charged 4.89 + 4.18 = 9.07
//	refund 2.42 about session 2 (its main part, energy, is at 21 %): excl 2.42 / 1.21 = 2.00, VAT 0.42
func TestInvoiceRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		f := newInvFixture(t, s)
		tar := f.tariff()
		p1, p2 := f.purchaser(), f.purchaser()
		f.cdr(p1, time.Date(2026, 11, 5, 18, 0, 0, 0, time.UTC), tar, 489, `"total_cost":{"excl_vat":4.04,"incl_vat":4.89},"total_energy_cost":{"excl_vat":4.04,"incl_vat":4.89}`)
		s2 := f.cdr(p1, time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC), tar, 418, `"total_cost":{"excl_vat":3.50,"incl_vat":4.18},"total_fixed_cost":{"excl_vat":1.00,"incl_vat":1.21},`+
			`"total_energy_cost":{"excl_vat":2.00,"incl_vat":2.42},"total_parking_cost":{"excl_vat":0.50,"incl_vat":0.55},"total_parking_time":0.25`)
		f.cdr(p1, time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), tar, 121, `"total_cost":{"excl_vat":1.00,"incl_vat":1.21},"total_fixed_cost":{"excl_vat":1.00,"incl_vat":1.21}`)
		f.clock.Set(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
		if _, err := f.a.Refund(ctx, p1, money.New(242, "EUR"), s2, "parking sensor fault", "rf-1"); err != nil {
			t.Fatal(err)
		}
		f.clock.Set(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC))

		viewer := app.WithActor(ctx, app.Actor{UserID: "usr_v", Role: account.RoleViewer})
		if _, err := f.a.RunInvoices(viewer, "2026-11", ""); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("viewer run: %v", err)
		}
		if _, err := f.a.RunInvoices(ctx, "2026-13", ""); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "period" {
			t.Fatalf("bad period: %v", err)
		}
		run, err := f.a.RunInvoices(ctx, "2026-11", "")
		if err != nil {
			t.Fatal(err)
		}
		if run.Accounts != 2 || len(run.Issued) != 2 || len(run.Existing) != 0 {
			t.Fatalf("run: %+v", run)
		}
		inv, cn := run.Issued[0], run.Issued[1]
		if inv.Number != "INV-2026-000001" || inv.AccountID != p1 || len(inv.Lines) != 2 || inv.ExclMinor != 754 || inv.VATMinor != 153 ||
			inv.TotalMinor != 907 || inv.ChargedMinor != 907 || inv.TimeZone != "Europe/Amsterdam" || inv.CustomerName != "Jörg Purchaser 1" {
			t.Errorf("invoice = %+v", inv)
		}
		wantVAT := []billing.VATGroup{{Rate: "9", ExclMinor: 50, VATMinor: 5, InclMinor: 55}, {Rate: "21", ExclMinor: 704, VATMinor: 148, InclMinor: 852}}
		if fmt.Sprint(inv.VAT) != fmt.Sprint(wantVAT) {
			t.Errorf("VAT = %v, want %v", inv.VAT, wantVAT)
		}
		if cn.Number != "CN-2026-000001" || cn.Kind != billing.KindCreditNote || len(cn.Credits) != 1 || cn.Credits[0].Rate != "21" ||
			cn.ExclMinor != -200 || cn.VATMinor != -42 || cn.TotalMinor != -242 {
			t.Errorf("credit note = %+v", cn)
		}

		again, err := f.a.RunInvoices(ctx, "2026-11", "")
		if err != nil || len(again.Issued) != 0 || len(again.Existing) != 2 {
			t.Fatalf("second run: %+v %v", again, err)
		}
		dec, err := f.a.RunInvoices(ctx, "2026-12", p1)
		if err != nil || len(dec.Issued) != 1 || dec.Issued[0].Number != "INV-2026-000002" || dec.Issued[0].TotalMinor != 121 {
			t.Fatalf("December: %+v %v", dec, err)
		}
		if _, err := f.a.RunInvoices(ctx, "2026-11", app.TerminalAccountID("EUR")); err == nil {
			t.Error("a run for a system account was accepted")
		}
		items, _, err := f.a.Invoices(viewer, store.Query{Filter: map[string]string{"account_id": p2}})
		if err != nil || len(items) != 0 {
			t.Errorf("p2 has %d invoices (%v)", len(items), err)
		}
		items, _, err = f.a.Invoices(viewer, store.Query{Filter: map[string]string{"account_id": p1, "period": "2026-11"}})
		if err != nil || len(items) != 2 {
			t.Errorf("p1's November: %d (%v)", len(items), err)
		}

		for _, d := range []billing.Invoice{inv, cn} {
			pdf, got, err := f.a.InvoicePDF(viewer, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF")) || !bytes.Contains(pdf, []byte(d.Number)) || got.ID != d.ID {
				t.Errorf("%s: not a PDF with its number (%d bytes)", d.Number, len(pdf))
			}
		}
	})
}

// TestInvoiceNumbersGapless: many accounts invoiced at once (one run per account and two full
// runs racing them) get numbers 1..N, each once; running again issues nothing.
func TestInvoiceNumbersGapless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		f := newInvFixture(t, s)
		const n = 16
		var accs []string
		for i := 0; i < n; i++ {
			acc := f.purchaser()
			accs = append(accs, acc)
			f.cdr(acc, time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC), "", int64(100+i), fmt.Sprintf(`"total_cost":{"excl_vat":%s}`, money.FormatMinor(int64(100+i), "EUR")))
		}
		f.clock.Set(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC))
		var mu sync.Mutex
		var issued []billing.Invoice
		var wg sync.WaitGroup
		run := func(acc string) {
			defer wg.Done()
			r, err := f.a.RunInvoices(ctx, "2026-11", acc)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			issued = append(issued, r.Issued...)
			mu.Unlock()
		}
		for _, acc := range append(accs, "", "") { // "" twice: two full runs racing the rest
			wg.Add(1)
			go run(acc)
		}
		wg.Wait()
		if len(issued) != n {
			t.Fatalf("issued %d invoices for %d accounts", len(issued), n)
		}
		var seqs []int64
		owners := map[string]bool{}
		for _, inv := range issued {
			seqs = append(seqs, inv.Seq)
			owners[inv.AccountID] = true
			if inv.Number != billing.FormatNumber("INV-2026", inv.Seq) {
				t.Errorf("number %s for seq %d", inv.Number, inv.Seq)
			}
		}
		slices.Sort(seqs)
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("numbers %v: not 1..%d", seqs, n)
			}
		}
		if len(owners) != n {
			t.Errorf("%d accounts invoiced, want %d", len(owners), n)
		}
		again, err := f.a.RunInvoices(ctx, "2026-11", "")
		if err != nil || len(again.Issued) != 0 || len(again.Existing) != n {
			t.Fatalf("second run issued %d (existing %d): %v", len(again.Issued), len(again.Existing), err)
		}
	})
}
