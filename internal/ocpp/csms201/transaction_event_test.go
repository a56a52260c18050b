package csms201

import (
	"context"
	"testing"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
	"github.com/evcs/evcs/internal/store"
)

// Events out of order and repeated: Updated before Started, a seqNo twice, Ended twice.
func TestTransactionEvent(t *testing.T) {
	h, c := dial(t)
	ev := func(typ string, seq int, at string, wh float64, ctxName string) obj {
		return obj{"eventType": typ, "timestamp": at, "triggerReason": "MeterValuePeriodic", "seqNo": seq,
			"transactionInfo": obj{"transactionId": "tx-1"}, "evse": obj{"id": 1, "connectorId": 1}, "idToken": obj{"idToken": csmstest.TagOK, "type": "ISO14443"},
			"meterValue": []obj{{"timestamp": at, "sampledValue": []obj{{"value": wh, "context": ctxName, "measurand": "Energy.Active.Import.Register"}}}}}
	}
	for _, e := range []obj{
		ev("Updated", 1, "2026-11-24T10:10:00Z", 1500, "Sample.Periodic"), // arrives first (offline queue)
		ev("Started", 0, "2026-11-24T10:00:00Z", 1000, "Transaction.Begin"),
		ev("Updated", 1, "2026-11-24T10:10:00Z", 1500, "Sample.Periodic"), // a repeat
		ev("Ended", 2, "2026-11-24T10:20:00Z", 2600, "Transaction.End"),
		ev("Ended", 2, "2026-11-24T10:20:00Z", 2600, "Transaction.End"),
	} {
		res, code := c.Call("TransactionEvent", e)
		if code != "" || res["idTokenInfo"].(map[string]any)["status"] != "Accepted" {
			t.Fatalf("%v: %v %s", e["eventType"], res, code)
		}
	}
	ctx := context.Background()
	var sessions []charging.Session
	var readings []charging.Reading
	_ = h.App.Store.View(ctx, func(tx store.Tx) (err error) {
		if sessions, _, err = tx.Sessions().List(ctx, store.Query{}); err != nil || len(sessions) != 1 {
			return err
		}
		readings, err = tx.Readings(ctx, sessions[0].ID)
		return err
	})
	if len(sessions) != 1 {
		t.Fatalf("%d sessions", len(sessions))
	}
	s := sessions[0]
	if s.Status != charging.Completed || s.MeterStart != 1000 || s.EnergyWh != 1600 || len(readings) != 3 {
		t.Fatalf("session %+v with %d readings", s, len(readings))
	}
	if !s.StartedAt.Equal(s.StartedAt.UTC()) || s.StartedAt.Format("15:04") != "10:00" {
		t.Errorf("start = %s, want the Started event's time", s.StartedAt)
	}
}
