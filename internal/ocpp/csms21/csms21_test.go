package csms21

import (
	"testing"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	v21 "github.com/evcs/evcs/internal/ocpp/v21"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// The 2.0.1 table serves 2.1 over the 2.1 schemas; answers must validate under 2.1.
func TestServes21(t *testing.T) {
	h := csmstest.Start(t, func(a *app.App) wsserver.Protocol { return New(a) })
	c := h.Dial(ocppj.V21)
	res, code := c.Call("BootNotification", map[string]any{"reason": "PowerUp", "chargingStation": map[string]any{"model": "X", "vendorName": "Y"}})
	if code != "" || res["status"] != "Accepted" {
		t.Fatalf("boot = %v %s", res, code)
	}
	if _, code := c.Call("Authorize", map[string]any{"idToken": map[string]any{"idToken": csmstest.TagOK, "type": "ISO14443"}}); code != "" {
		t.Fatal(code)
	}
	for _, action := range Reports2_1 {
		if action == "NotifyPeriodicEventStream" {
			continue // a SEND: never answered
		}
		if err := v21.ValidateResponse(action, []byte("{}")); err != nil {
			t.Errorf("%s: the empty answer breaks the 2.1 schema: %v", action, err)
		}
	}
}
