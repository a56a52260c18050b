package csms201

import (
	"testing"

	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
)

func TestReportsAndDataTransfer(t *testing.T) {
	_, c := dial(t)
	if _, code := c.Call("NotifyEvent", obj{"generatedAt": csmstest.Now(), "seqNo": 0, "eventData": []obj{{"eventId": 1, "timestamp": csmstest.Now(),
		"trigger": "Alerting", "actualValue": "1", "eventNotificationType": "HardWiredNotification", "component": obj{"name": "EVSE"}, "variable": obj{"name": "Problem"}}}}); code != "" {
		t.Errorf("NotifyEvent: %s", code)
	}
	if _, code := c.Call("SecurityEventNotification", obj{"type": "StartupOfTheDevice", "timestamp": csmstest.Now()}); code != "" {
		t.Errorf("SecurityEventNotification: %s", code)
	}
	if res, _ := c.Call("DataTransfer", obj{"vendorId": "com.other"}); res["status"] != "UnknownVendorId" {
		t.Errorf("other vendor: %v", res)
	}
	if _, code := c.Call("FlyToTheMoon", obj{}); code != "NotImplemented" {
		t.Errorf("unknown action: %s", code)
	}
}
