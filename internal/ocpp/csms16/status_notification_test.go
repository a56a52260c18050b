package csms16

import (
	"context"
	"testing"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/csms/csmstest"
	"github.com/evcs/evcs/internal/store"
)

func TestStatusNotification(t *testing.T) {
	h, c := dial(t)
	if _, code := c.Call("StatusNotification", obj{"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted", "timestamp": csmstest.Now()}); code != "" {
		t.Fatal(code)
	}
	if _, code := c.Call("StatusNotification", obj{"connectorId": 1, "errorCode": "NoError", "status": "Flying"}); code != "PropertyConstraintViolation" {
		t.Fatalf("bad enum: %s", code)
	}
	var live []charging.StatusChange
	_ = h.App.Store.View(context.Background(), func(tx store.Tx) (err error) {
		live, err = tx.LiveStatus(context.Background(), csmstest.Station)
		return
	})
	if len(live) != 1 || live[0].Status != "Faulted" || live[0].ErrorCode != "GroundFailure" || live[0].EVSENo != 1 {
		t.Fatalf("live = %+v", live)
	}
}
