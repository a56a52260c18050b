package csms16

import (
	"testing"

	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
)

// StartTransaction, MeterValues and StopTransaction, with their replays.
func TestTransaction(t *testing.T) {
	_, c := dial(t)
	start := obj{"connectorId": 1, "idTag": csmstest.TagOK, "meterStart": 1000, "timestamp": "2026-11-24T10:00:00Z"}
	res, code := c.Call("StartTransaction", start)
	if code != "" || res["idTagInfo"].(map[string]any)["status"] != "Accepted" {
		t.Fatalf("start = %v %s", res, code)
	}
	tx := res["transactionId"]
	again, _ := c.Call("StartTransaction", start) // a replay gets the same transaction
	if again["transactionId"] != tx {
		t.Fatalf("replayed start: %v, first %v", again["transactionId"], tx)
	}
	if _, code := c.Call("MeterValues", obj{"connectorId": 1, "transactionId": tx, "meterValue": []obj{{"timestamp": "2026-11-24T10:05:00Z",
		"sampledValue": []obj{{"value": "1.5", "unit": "kWh", "measurand": "Energy.Active.Import.Register"}}}}}); code != "" {
		t.Fatal(code)
	}
	if _, code := c.Call("MeterValues", obj{"connectorId": 1, "meterValue": []obj{{"timestamp": "2026-11-24T10:05:00Z",
		"sampledValue": []obj{{"value": "abc"}}}}}); code != "PropertyConstraintViolation" {
		t.Fatalf("non-numeric value: %s", code)
	}
	stop := obj{"transactionId": tx, "meterStop": 3500, "timestamp": "2026-11-24T10:30:00Z", "reason": "Local", "idTag": csmstest.TagOK}
	if res, code := c.Call("StopTransaction", stop); code != "" || res["idTagInfo"].(map[string]any)["status"] != "Accepted" {
		t.Fatalf("stop = %v %s", res, code)
	}
	if _, code := c.Call("StopTransaction", obj{"transactionId": 999999, "meterStop": 1, "timestamp": csmstest.Now()}); code != "" {
		t.Fatalf("unknown transaction must still be answered: %s", code)
	}
}
