package csms201

import (
	"testing"

	"github.com/evcs/evcs/internal/app"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
)

func TestTranslateCommands(t *testing.T) {
	for _, c := range []struct {
		req    app.CommandRequest
		action string
		bad    bool
	}{
		{app.CommandRequest{Kind: "remote_start", EVSENo: 1, IdToken: "T1"}, "RequestStartTransaction", false},
		{app.CommandRequest{Kind: "remote_stop", TransactionID: "tx-9"}, "RequestStopTransaction", false},
		{app.CommandRequest{Kind: "remote_stop"}, "", true},
		{app.CommandRequest{Kind: "reset", ResetType: "hard"}, "Reset", false},
		{app.CommandRequest{Kind: "unlock", EVSENo: 1}, "UnlockConnector", false},
		{app.CommandRequest{Kind: "availability", EVSENo: 2}, "ChangeAvailability", false},
		{app.CommandRequest{Kind: "trigger", Message: "Heartbeat"}, "TriggerMessage", false},
		{app.CommandRequest{Kind: "get_variables", Key: "OCPPCommCtrlr.HeartbeatInterval"}, "GetVariables", false},
		{app.CommandRequest{Kind: "set_variables", Key: "OCPPCommCtrlr.HeartbeatInterval", Value: "60"}, "SetVariables", false},
		{app.CommandRequest{Kind: "set_variables", Key: "HeartbeatInterval"}, "", true},
		{app.CommandRequest{Kind: "clear_cache"}, "ClearCache", false},
	} {
		action, payload, err := translate(c.req)
		if c.bad {
			if err == nil {
				t.Errorf("%+v: no error", c.req)
			}
			continue
		}
		if err != nil || action != c.action {
			t.Errorf("%+v = %s, %v", c.req, action, err)
			continue
		}
		if verr := v201.ValidateRequest(action, payload); verr != nil {
			t.Errorf("%s %s breaks the schema: %v", action, payload, verr)
		}
	}
}
