package csms16

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

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
	case "charging_profile":
		return chargingProfile(r)
	case "clear_charging_profile":
		req := v16.ClearChargingProfileRequest{ConnectorID: evse(), StackLevel: r.StackLevel,
			ChargingProfilePurpose: v16.ClearChargingProfileRequestChargingProfilePurpose(purpose16(r.Purpose))}
		if r.ProfileID != 0 {
			id := r.ProfileID
			req.ID = &id
		}
		return "ClearChargingProfile", raw(req), nil
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

// purpose16 names a neutral profile purpose in 1.6.
func purpose16(p string) string {
	if p == "ChargingStationMaxProfile" {
		return "ChargePointMaxProfile"
	}
	return p
}

// chargingProfile is SetChargingProfile with one period from the start of the schedule: relative
// to the transaction, or absolute from ValidFrom.
func chargingProfile(r app.CommandRequest) (string, []byte, error) {
	const action = "SetChargingProfile"
	if r.Limit == nil {
		return action, nil, errs.Field("limit", "is required")
	}
	purpose := r.Purpose
	if purpose == "" {
		purpose = "TxDefaultProfile"
	}
	unit := r.RateUnit
	if unit == "" {
		unit = "W"
	}
	cp := v16.ChargingProfile{ChargingProfileID: r.ProfileID, ChargingProfilePurpose: v16.ChargingProfileChargingProfilePurpose(purpose16(purpose)),
		ChargingProfileKind: v16.ChargingProfileKindRelative,
		ChargingSchedule: v16.ChargingSchedule{ChargingRateUnit: v16.ChargingScheduleChargingRateUnit(unit),
			ChargingSchedulePeriod: []v16.ChargingSchedulePeriod{{StartPeriod: 0, Limit: *r.Limit}}}}
	if cp.ChargingProfileID == 0 {
		cp.ChargingProfileID = app.ProfileIDFor(purpose, r.EVSENo)
	}
	if r.StackLevel != nil {
		cp.StackLevel = *r.StackLevel
	}
	if r.NumberPhases != 0 {
		n := r.NumberPhases
		cp.ChargingSchedule.ChargingSchedulePeriod[0].NumberPhases = &n
	}
	if r.ValidFrom != nil {
		cp.ChargingProfileKind = v16.ChargingProfileKindAbsolute
		cp.ChargingSchedule.StartSchedule = r.ValidFrom.UTC().Format(time.RFC3339)
		cp.ValidFrom = cp.ChargingSchedule.StartSchedule
	}
	if r.ValidTo != nil {
		cp.ValidTo = r.ValidTo.UTC().Format(time.RFC3339)
	}
	switch purpose {
	case "TxProfile":
		n, err := strconv.Atoi(r.TransactionID)
		if err != nil {
			return action, nil, errs.Field("transaction_id", "a TxProfile needs the transaction (1.6: an integer)")
		}
		if r.EVSENo == 0 {
			return action, nil, errs.Field("evse_no", "a TxProfile is set on the transaction's connector")
		}
		cp.TransactionID = &n
	case "ChargingStationMaxProfile":
		if r.EVSENo != 0 {
			return action, nil, errs.Field("evse_no", "a ChargePointMaxProfile is set on connector 0")
		}
	}
	return action, raw(v16.SetChargingProfileRequest{ConnectorID: r.EVSENo, CsChargingProfiles: cp}), nil
}
