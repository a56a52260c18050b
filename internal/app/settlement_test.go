package app_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// adHocTariff: 0.50 €/kWh + 20 % VAT, for payment at the terminal.
const adHocTariff = `{"currency":"EUR","type":"AD_HOC_PAYMENT","elements":[{"price_components":[{"type":"ENERGY","price":0.50,"vat":20,"step_size":1}]}]}`

// TestTerminalSessionSettled: a session started with a terminal's pre-authorised token is rated
// by the AD_HOC_PAYMENT tariff on the token and charged to the terminal account; a settlement
// that arrives before the session ends is reconciled when it ends; later settlements are
// reconciled at once; the terminal account ends at zero and the ledger checks out.
//
// 10 kWh × 0.50 = 5.00 excl. VAT, × 1.20 = 6.00 charged.
func TestTerminalSessionSettled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		f := newInvFixture(t, s)
		f.a.SessionEnded = append(f.a.SessionEnded, f.a.SettlementsOnSessionEnd)
		operator := app.WithActor(ctx, app.Actor{UserID: "usr_op", Role: account.RoleOperator})
		term, err := f.a.EnsureTerminalAccount(operator, "EUR")
		if err != nil || term.ID != "sys_terminal_EUR" {
			t.Fatalf("terminal account %+v: %v", term, err)
		}
		if again, err := f.a.EnsureTerminalAccount(operator, "EUR"); err != nil || again.ID != term.ID {
			t.Fatalf("again: %v", err)
		}
		tar, err := f.a.CreateTariff(ctx, []byte(adHocTariff))
		if err != nil {
			t.Fatal(err)
		}
		site, err := app.Create(ctx, f.a, app.Sites, asset.SiteFields{Name: "Motorway", TimeZone: "Europe/Amsterdam"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Create(ctx, f.a, app.Stations, app.StationInput{ID: "CP-PAY", StationFields: asset.StationFields{SiteID: site.ID, Kind: asset.KindDC}}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Create(ctx, f.a, app.IdTokens, account.IdTokenFields{UID: "TERMINAL-1", Type: "Central", AccountID: term.ID, TariffID: tar.ID}); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		f.clock.Set(start)
		charge := func(meterStart int64) *charging {
			t.Helper()
			meterStop := meterStart + 10000
			ses, auth, err := f.a.StartSession(ctx, app.StartInput{StationID: "CP-PAY", EVSENo: 1, IdToken: "TERMINAL-1", MeterStart: meterStart, At: start})
			if err != nil || auth.Status != account.AuthAccepted || ses.TariffID != tar.ID {
				t.Fatalf("start: %+v %+v %v", ses, auth, err)
			}
			return &charging{stop: func() {
				if _, _, err := f.a.StopSession(ctx, app.StopInput{StationID: "CP-PAY", TxRef: ses.TxRef, MeterStop: meterStop, At: start.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}, txRef: ses.TxRef, id: ses.ID}
		}
		settle := func(txRef, psp, status, amount string) *billing.Settlement {
			t.Helper()
			st, err := f.a.RecordSettlement(ctx, app.SettlementInput{StationID: "CP-PAY", TransactionID: txRef, PspRef: psp, Status: status, Amount: amount, At: start.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}

		// Settled before the session ends: pending, then matched when it ends.
		c1 := charge(1000)
		early := settle(c1.txRef, "psp-1", "Settled", "6")
		if early.Outcome != billing.SettlementPending || early.SessionID != c1.id {
			t.Fatalf("early settlement = %+v", early)
		}
		if replay := settle(c1.txRef, "psp-1", "Settled", "6"); replay.ID != early.ID {
			t.Fatalf("a replay was recorded again: %s vs %s", replay.ID, early.ID)
		}
		c1.stop()
		items, _, err := f.a.Settlements(ctx, store.Query{Filter: map[string]string{"session_id": c1.id}})
		if err != nil || len(items) != 1 {
			t.Fatalf("settlements of %s: %d %v", c1.id, len(items), err)
		}
		if st := items[0]; st.Outcome != billing.SettlementMatched || st.CostMinor == nil || *st.CostMinor != 600 || st.AmountMinor != 600 || st.LedgerTxID == "" {
			t.Fatalf("reconciled at the end = %+v", st)
		}

		// A second payment for the paid session is a difference of the whole amount.
		if st := settle(c1.txRef, "psp-1b", "Settled", "6"); st.Outcome != billing.SettlementAmountDiffers || st.DifferenceMinor != 600 {
			t.Fatalf("double payment = %+v", st)
		}
		// Settled after the end, for a different amount: reconciled at once, the difference kept.
		c2 := charge(20000)
		c2.stop()
		if st := settle(c2.txRef, "psp-2", "Settled", "5.99"); st.Outcome != billing.SettlementAmountDiffers || st.DifferenceMinor != -1 {
			t.Fatalf("differing settlement = %+v", st)
		}
		if st := settle(c2.txRef, "psp-3", "Rejected", "6"); st.Outcome != billing.SettlementNotSettled || st.SessionID != c2.id {
			t.Fatalf("rejected settlement = %+v", st)
		}
		if st := settle("", "psp-4", "Settled", "1"); st.Outcome != billing.SettlementNoTransaction {
			t.Fatalf("settlement without a transaction = %+v", st)
		}
		// Unknown transaction: pending; a reconcile call changes nothing until it exists.
		if st := settle("999", "psp-5", "Settled", "1"); st.Outcome != billing.SettlementPending {
			t.Fatalf("unknown transaction = %+v", st)
		}
		if changed, err := f.a.ReconcileSettlements(operator, ""); err != nil || len(changed) != 0 {
			t.Fatalf("reconcile: %v %v", changed, err)
		}

		// The terminal account owes 6.00 + 6.00 and received 6.00 + 6.00 + 5.99.
		var bal int64
		if err := s.View(ctx, func(tx store.Tx) (err error) { bal, err = tx.Balance(ctx, term.ID); return }); err != nil {
			t.Fatal(err)
		}
		if bal != 599 {
			t.Errorf("terminal account balance %d, want 599 (paid twice, once 0.01 short)", bal)
		}
		if err := f.a.CheckLedger(ctx); err != nil {
			t.Errorf("ledger: %v", err)
		}
		pdf, err := f.a.ReceiptPDF(ctx, c1.id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF")) || !bytes.Contains(pdf, []byte("Paid at the payment terminal")) {
			t.Errorf("receipt PDF does not say it was paid at the terminal")
		}
		// Terminal sessions are on no invoice: the terminal account is not a purchaser's.
		f.clock.Set(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC))
		run, err := f.a.RunInvoices(ctx, "2026-11", "")
		if err != nil || len(run.Issued) != 0 {
			t.Errorf("run: %+v %v", run, err)
		}
	})
}

type charging struct {
	stop  func()
	txRef string
	id    string
}
