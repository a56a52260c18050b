package csms201

import "testing"

func TestBootNotification(t *testing.T) {
	_, c := dial(t)
	res, code := c.Call("BootNotification", obj{"reason": "PowerUp", "chargingStation": obj{"model": "DC150", "vendorName": "ACME"}})
	if code != "" || res["status"] != "Accepted" || res["interval"].(float64) <= 0 {
		t.Fatalf("boot = %v %s", res, code)
	}
	if _, code := c.Call("BootNotification", obj{"reason": "PowerUp"}); code != "OccurrenceConstraintViolation" {
		t.Fatalf("missing chargingStation: %s", code)
	}
}
