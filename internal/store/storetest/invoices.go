package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// runInvoices covers issued invoices (unique per account, period and kind; unique numbers;
// gapless numbering from a counter in the same transaction) and settlements.
func runInvoices(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	inv := func(id, acc, kind, number string) *billing.Invoice {
		return &billing.Invoice{ID: id, Kind: kind, Series: "INV-2026", Number: number, AccountID: acc, Period: "2026-11", Currency: "EUR",
			TotalMinor: 1234, IssuedAt: now, Lines: []billing.InvoiceLine{{SessionID: "ses_x", ExclMinor: 1000}},
			VAT: []billing.VATGroup{{Rate: "21", ExclMinor: 1000, VATMinor: 210, InclMinor: 1210}}}
	}
	t.Run("issue and read back", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			return tx.Invoices().Issue(ctx, inv("inv_1", "acc_a", billing.KindInvoice, "INV-2026-000001"))
		})
		var got *billing.Invoice
		mustView(t, s, func(tx store.Tx) (err error) { got, err = tx.Invoices().Get(ctx, "inv_1"); return })
		if got.Number != "INV-2026-000001" || got.Status != billing.InvoiceIssued || !got.IssuedAt.Equal(now) || len(got.Lines) != 1 || got.VAT[0].VATMinor != 210 {
			t.Fatalf("got %+v", got)
		}
		mustView(t, s, func(tx store.Tx) (err error) {
			got, err = tx.Invoices().Find(ctx, "acc_a", "2026-11", billing.KindInvoice)
			return
		})
		if got.ID != "inv_1" {
			t.Fatalf("find: %+v", got)
		}
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Invoices().Find(ctx, "acc_a", "2026-10", billing.KindInvoice)
			return err
		})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("find other period: %v", err)
		}
	})
	t.Run("one per account, period and kind; numbers unique", func(t *testing.T) {
		for _, v := range []*billing.Invoice{inv("inv_2", "acc_a", billing.KindInvoice, "INV-2026-000002"), inv("inv_3", "acc_b", billing.KindInvoice, "INV-2026-000001")} {
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.Invoices().Issue(ctx, v) })
			if !errs.Is(err, errs.Conflict) {
				t.Fatalf("%s: want Conflict, got %v", v.ID, err)
			}
		}
		mustTx(t, s, func(tx store.Tx) error {
			return tx.Invoices().Issue(ctx, inv("crn_1", "acc_a", billing.KindCreditNote, "CN-2026-000001"))
		})
		var items []billing.Invoice
		mustView(t, s, func(tx store.Tx) (err error) {
			items, _, err = tx.Invoices().List(ctx, store.Query{Filter: map[string]string{"account_id": "acc_a", "period": "2026-11"}})
			return
		})
		if len(items) != 2 {
			t.Fatalf("list: %d", len(items))
		}
	})
	t.Run("a failed issue gives its number back", func(t *testing.T) {
		// Draw a number and fail the insert: the counter rolls back with it.
		_ = s.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.Next(ctx, "invoice:T-1"); err != nil {
				return err
			}
			return tx.Invoices().Issue(ctx, inv("inv_4", "acc_a", billing.KindInvoice, "T-1-000001")) // Conflict: acc_a has one
		})
		var n int64
		mustTx(t, s, func(tx store.Tx) (err error) { n, err = tx.Next(ctx, "invoice:T-1"); return })
		if n != 1 {
			t.Fatalf("next after rollback = %d, want 1", n)
		}
	})
	t.Run("settlements: unique per station, psp ref and status; reconciled by update", func(t *testing.T) {
		st := &billing.Settlement{ID: "stl_1", StationID: "CP-S", TransactionID: "tx-9", PspRef: "psp-1", PaymentStatus: "Settled", Amount: "4.89",
			SettledAt: now, Outcome: billing.SettlementPending, CreatedAt: now, UpdatedAt: now}
		mustTx(t, s, func(tx store.Tx) error { return tx.Invoices().AddSettlement(ctx, st) })
		dup := *st
		dup.ID = "stl_2"
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.Invoices().AddSettlement(ctx, &dup) }); !errs.Is(err, errs.Conflict) {
			t.Fatalf("duplicate: want Conflict, got %v", err)
		}
		cost := int64(489)
		st.Outcome, st.SessionID, st.CostMinor = billing.SettlementMatched, "ses_9", &cost
		mustTx(t, s, func(tx store.Tx) error { return tx.Invoices().UpdateSettlement(ctx, st) })
		var items []billing.Settlement
		mustView(t, s, func(tx store.Tx) (err error) {
			items, _, err = tx.Invoices().Settlements(ctx, store.Query{Filter: map[string]string{"session_id": "ses_9", "outcome": billing.SettlementMatched}})
			return
		})
		if len(items) != 1 || items[0].CostMinor == nil || *items[0].CostMinor != 489 {
			t.Fatalf("settlements: %+v", items)
		}
	})
}
