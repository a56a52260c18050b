package csms201

import (
	"testing"

	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
)

func TestStatusNotification(t *testing.T) {
	_, c := dial(t)
	if _, code := c.Call("StatusNotification", obj{"timestamp": csmstest.Now(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}); code != "" {
		t.Fatal(code)
	}
	if _, code := c.Call("StatusNotification", obj{"timestamp": "yesterday", "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}); code != "PropertyConstraintViolation" {
		t.Fatalf("bad timestamp: %s", code)
	}
}
