package csms16

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// payloadActions are commands whose payload the operator gives as is (validated against the 1.6
// schema): the neutral name → the 1.6 action.
var payloadActions = map[string]string{
	"data_transfer": "DataTransfer", "reserve_now": "ReserveNow", "cancel_reservation": "CancelReservation",
	"get_diagnostics": "GetDiagnostics", "update_firmware": "UpdateFirmware", "send_local_list": "SendLocalList",
	"get_local_list_version": "GetLocalListVersion",
}

// Command sends an operator command as its 1.6 action.
func (p *Protocol) Command(ctx context.Context, c *wsserver.Conn, r app.CommandRequest) (string, json.RawMessage, string, error) {
	action, req, err := translate(r)
	if err != nil {
		return action, nil, "", err
	}
	if verr := v16.ValidateRequest(action, req); verr != nil {
		return action, nil, "", errs.Field("payload", "not a valid 1.6 %s: %s", action, verr.Msg)
	}
	res, err := c.Call(ctx, action, json.RawMessage(req), nil)
	return action, res, csms.Status(res), err
}

func translate(r app.CommandRequest) (string, []byte, error) {
	evse := func() *int {
		if r.EVSENo == 0 {
			return nil
		}
		v := r.EVSENo
		return &v
	}
	switch r.Kind {
	case "remote_start":
		if r.IdToken == "" {
			return "RemoteStartTransaction", nil, errs.Field("id_token", "is required")
		}
		return "RemoteStartTransaction", raw(v16.RemoteStartTransactionRequest{ConnectorID: evse(), IDTag: r.IdToken}), nil
	case "remote_stop":
		n, err := strconv.Atoi(r.TransactionID)
		if err != nil {
			return "RemoteStopTransaction", nil, errs.Field("transaction_id", "1.6 transaction ids are integers")
		}
		return "RemoteStopTransaction", raw(v16.RemoteStopTransactionRequest{TransactionID: n}), nil
	case "reset":
		return "Reset", raw(v16.ResetRequest{Type: v16.ResetRequestType(csms.ResetType(r.ResetType, true))}), nil
	case "unlock":
		if r.EVSENo == 0 {
			return "UnlockConnector", nil, errs.Field("evse_no", "is required")
		}
		return "UnlockConnector", raw(v16.UnlockConnectorRequest{ConnectorID: r.EVSENo}), nil
	case "availability":
		t := "Operative"
		if r.Operative != nil && !*r.Operative {
			t = "Inoperative"
		}
		return "ChangeAvailability", raw(v16.ChangeAvailabilityRequest{ConnectorID: r.EVSENo, Type: v16.ChangeAvailabilityRequestType(t)}), nil
	case "trigger":
		return "TriggerMessage", raw(v16.TriggerMessageRequest{RequestedMessage: v16.RequestedMessage(r.Message), ConnectorID: evse()}), nil
	case "clear_cache":
		return "ClearCache", []byte("{}"), nil
	case "get_configuration", "get_variables":
		req := v16.GetConfigurationRequest{}
		if r.Key != "" {
			req.Key = []string{r.Key}
		}
		return "GetConfiguration", raw(req), nil
	case "change_configuration", "set_variables":
		return "ChangeConfiguration", raw(v16.ChangeConfigurationRequest{Key: r.Key, Value: r.Value}), nil
	case "raw":
		if r.Action == "" {
			return "", nil, errs.Field("action", "is required")
		}
		return r.Action, payloadOrEmpty(r.Payload), nil
	}
	if a, ok := payloadActions[r.Kind]; ok {
		return a, payloadOrEmpty(r.Payload), nil
	}
	return "", nil, errs.Field("kind", "%q is not a command", r.Kind)
}

func payloadOrEmpty(p json.RawMessage) []byte {
	if len(p) == 0 {
		return []byte("{}")
	}
	return p
}
