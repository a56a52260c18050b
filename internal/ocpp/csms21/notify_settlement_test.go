package csms21

import (
	"context"
	"testing"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
	"github.com/evcs/evcs/internal/store"
)

// NotifySettlement is recorded as a settlement (not a bare event), once per delivery of the same
// payment, and answered with the station's own receipt reference.
func TestNotifySettlement(t *testing.T) {
	h := csmstest.Start(t, func(a *app.App) wsserver.Protocol { return New(a) })
	c := h.Dial(ocppj.V21)
	msg := map[string]any{"transactionId": "tx-77", "pspRef": "psp-abc", "status": "Settled", "settlementAmount": 12.5,
		"settlementTime": csmstest.Now(), "receiptId": "R-1"}
	for i := 0; i < 2; i++ {
		res, code := c.Call("NotifySettlement", msg)
		if code != "" || res["receiptId"] != "R-1" {
			t.Fatalf("NotifySettlement: %v %s", res, code)
		}
	}
	var items []billing.Settlement
	err := h.App.Store.View(context.Background(), func(tx store.Tx) (err error) {
		items, _, err = tx.Invoices().Settlements(context.Background(), store.Query{Filter: map[string]string{"station_id": csmstest.Station}})
		return
	})
	if err != nil || len(items) != 1 {
		t.Fatalf("settlements: %d %v", len(items), err)
	}
	if st := items[0]; st.PspRef != "psp-abc" || st.Amount != "12.5" || st.TransactionID != "tx-77" || st.Outcome != billing.SettlementPending {
		t.Errorf("settlement = %+v", st)
	}
	if _, code := c.Call("NotifySettlement", map[string]any{"pspRef": "x", "status": "Paid", "settlementAmount": 1, "settlementTime": csmstest.Now()}); code == "" {
		t.Error("a status outside the schema was accepted")
	}
}
