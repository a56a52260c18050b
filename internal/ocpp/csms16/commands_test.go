package csms16

import (
	"encoding/json"
	"testing"

	"github.com/evcs/evcs/internal/app"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
)

func TestTranslateCommands(t *testing.T) {
	off := false
	cases := []struct {
		req     app.CommandRequest
		action  string
		payload string
		field   string
	}{
		{app.CommandRequest{Kind: "remote_start", EVSENo: 2, IdToken: "T1"}, "RemoteStartTransaction", `{"connectorId":2,"idTag":"T1"}`, ""},
		{app.CommandRequest{Kind: "remote_start"}, "RemoteStartTransaction", "", "id_token"},
		{app.CommandRequest{Kind: "remote_stop", TransactionID: "42"}, "RemoteStopTransaction", `{"transactionId":42}`, ""},
		{app.CommandRequest{Kind: "remote_stop", TransactionID: "uuid-x"}, "RemoteStopTransaction", "", "transaction_id"},
		{app.CommandRequest{Kind: "reset", ResetType: "hard"}, "Reset", `{"type":"Hard"}`, ""},
		{app.CommandRequest{Kind: "reset"}, "Reset", `{"type":"Soft"}`, ""},
		{app.CommandRequest{Kind: "unlock", EVSENo: 1}, "UnlockConnector", `{"connectorId":1}`, ""},
		{app.CommandRequest{Kind: "availability", EVSENo: 1, Operative: &off}, "ChangeAvailability", `{"connectorId":1,"type":"Inoperative"}`, ""},
		{app.CommandRequest{Kind: "trigger", Message: "StatusNotification", EVSENo: 1}, "TriggerMessage", `{"requestedMessage":"StatusNotification","connectorId":1}`, ""},
		{app.CommandRequest{Kind: "change_configuration", Key: "HeartbeatInterval", Value: "60"}, "ChangeConfiguration", `{"key":"HeartbeatInterval","value":"60"}`, ""},
		{app.CommandRequest{Kind: "reserve_now", Payload: json.RawMessage(`{"connectorId":1}`)}, "ReserveNow", `{"connectorId":1}`, ""},
		{app.CommandRequest{Kind: "teleport"}, "", "", "kind"},
	}
	for _, c := range cases {
		action, payload, err := translate(c.req)
		if c.field != "" {
			if err == nil {
				t.Errorf("%+v: no error", c.req)
			}
			continue
		}
		if err != nil || action != c.action || string(payload) != c.payload {
			t.Errorf("%+v = %s %s %v, want %s %s", c.req, action, payload, err, c.action, c.payload)
			continue
		}
		if c.req.Kind != "reserve_now" {
			if verr := v16.ValidateRequest(action, payload); verr != nil {
				t.Errorf("%s payload breaks the schema: %v", action, verr)
			}
		}
	}
}
