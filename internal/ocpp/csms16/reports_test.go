package csms16

import (
	"testing"

	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
)

func TestReportsAndDataTransfer(t *testing.T) {
	_, c := dial(t)
	for action, payload := range map[string]obj{
		"DiagnosticsStatusNotification": {"status": "Uploaded"},
		"FirmwareStatusNotification":    {"status": "Installed"},
		"SecurityEventNotification":     {"type": "FirmwareUpdated", "timestamp": csmstest.Now()},
	} {
		if _, code := c.Call(action, payload); code != "" {
			t.Errorf("%s: %s", action, code)
		}
	}
	if res, _ := c.Call("DataTransfer", obj{"vendorId": "com.other"}); res["status"] != "UnknownVendorId" {
		t.Errorf("other vendor: %v", res)
	}
	if res, _ := c.Call("DataTransfer", obj{"vendorId": VendorID, "messageId": "ping"}); res["status"] != "Accepted" {
		t.Errorf("own vendor: %v", res)
	}
	if _, code := c.Call("FlyToTheMoon", obj{}); code != "NotImplemented" {
		t.Errorf("unknown action: %s", code)
	}
}
