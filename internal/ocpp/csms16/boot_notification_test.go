package csms16

import "testing"

func TestBootNotification(t *testing.T) {
	_, c := dial(t)
	res, code := c.Call("BootNotification", obj{"chargePointVendor": "ACME", "chargePointModel": "AC22", "firmwareVersion": "1.2.3"})
	if code != "" || res["status"] != "Accepted" || res["interval"].(float64) <= 0 || res["currentTime"] == "" {
		t.Fatalf("boot = %v %s", res, code)
	}
	if _, code := c.Call("BootNotification", obj{"chargePointVendor": "ACME"}); code != "OccurenceConstraintViolation" {
		t.Fatalf("missing model: %s", code)
	}
}
