package csms201

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// payloadActions are commands whose payload the operator gives as is (validated against the
// version's schema).
var payloadActions = map[string]string{
	"data_transfer": "DataTransfer", "reserve_now": "ReserveNow", "cancel_reservation": "CancelReservation",
	"get_diagnostics": "GetLog", "update_firmware": "UpdateFirmware", "send_local_list": "SendLocalList",
	"get_local_list_version": "GetLocalListVersion",
}

var remoteStartID atomic.Int64

// Command sends an operator command as its 2.x action.
func (p *Protocol) Command(ctx context.Context, c *wsserver.Conn, r app.CommandRequest) (string, json.RawMessage, string, error) {
	action, req, err := translate(r)
	if err != nil {
		return action, nil, "", err
	}
	if verr := p.schemas.ValidateRequest(action, req); verr != nil {
		return action, nil, "", errs.Field("payload", "not a valid %s %s: %s", p.version, action, verr.Msg)
	}
	res, err := c.Call(ctx, action, json.RawMessage(req), nil)
	return action, res, csms.Status(res), err
}

func translate(r app.CommandRequest) (string, []byte, error) {
	evse := func() *v201.EVSEType {
		if r.EVSENo == 0 {
			return nil
		}
		e := &v201.EVSEType{ID: r.EVSENo}
		if r.ConnectorNo != 0 {
			cn := r.ConnectorNo
			e.ConnectorID = &cn
		}
		return e
	}
	switch r.Kind {
	case "remote_start":
		if r.IdToken == "" {
			return "RequestStartTransaction", nil, errs.Field("id_token", "is required")
		}
		req := v201.RequestStartTransactionRequest{IDToken: v201.IdTokenType{IDToken: r.IdToken, Type: "Central"}, RemoteStartID: int(remoteStartID.Add(1))}
		if r.EVSENo != 0 {
			n := r.EVSENo
			req.EvseID = &n
		}
		return "RequestStartTransaction", Raw(req), nil
	case "remote_stop":
		if r.TransactionID == "" {
			return "RequestStopTransaction", nil, errs.Field("transaction_id", "is required")
		}
		return "RequestStopTransaction", Raw(v201.RequestStopTransactionRequest{TransactionID: r.TransactionID}), nil
	case "reset":
		req := v201.ResetRequest{Type: v201.ResetEnumType(csms.ResetType(r.ResetType, false))}
		if r.EVSENo != 0 {
			n := r.EVSENo
			req.EvseID = &n
		}
		return "Reset", Raw(req), nil
	case "unlock":
		if r.EVSENo == 0 {
			return "UnlockConnector", nil, errs.Field("evse_no", "is required")
		}
		conn := r.ConnectorNo
		if conn == 0 {
			conn = 1
		}
		return "UnlockConnector", Raw(v201.UnlockConnectorRequest{EvseID: r.EVSENo, ConnectorID: conn}), nil
	case "availability":
		st := "Operative"
		if r.Operative != nil && !*r.Operative {
			st = "Inoperative"
		}
		return "ChangeAvailability", Raw(v201.ChangeAvailabilityRequest{Evse: evse(), OperationalStatus: v201.OperationalStatusEnumType(st)}), nil
	case "trigger":
		return "TriggerMessage", Raw(v201.TriggerMessageRequest{Evse: evse(), RequestedMessage: v201.MessageTriggerEnumType(r.Message)}), nil
	case "clear_cache":
		return "ClearCache", []byte("{}"), nil
	case "get_variables", "get_configuration":
		comp, v := csms.SplitKey(r.Key)
		if v == "" {
			return "GetVariables", nil, errs.Field("key", "2.x needs component.variable, e.g. OCPPCommCtrlr.HeartbeatInterval")
		}
		return "GetVariables", Raw(v201.GetVariablesRequest{GetVariableData: []v201.GetVariableDataType{{Component: v201.ComponentType{Name: comp}, Variable: v201.VariableType{Name: v}}}}), nil
	case "set_variables", "change_configuration":
		comp, v := csms.SplitKey(r.Key)
		if v == "" {
			return "SetVariables", nil, errs.Field("key", "2.x needs component.variable, e.g. OCPPCommCtrlr.HeartbeatInterval")
		}
		return "SetVariables", Raw(v201.SetVariablesRequest{SetVariableData: []v201.SetVariableDataType{{AttributeValue: r.Value, Component: v201.ComponentType{Name: comp}, Variable: v201.VariableType{Name: v}}}}), nil
	case "charging_profile":
		return chargingProfile(r)
	case "clear_charging_profile":
		req := v201.ClearChargingProfileRequest{}
		if r.ProfileID != 0 {
			id := r.ProfileID
			req.ChargingProfileID = &id
		} else {
			c := &v201.ClearChargingProfileType{ChargingProfilePurpose: v201.ChargingProfilePurposeEnumType(r.Purpose), StackLevel: r.StackLevel}
			if r.EVSENo != 0 {
				n := r.EVSENo
				c.EvseID = &n
			}
			req.ChargingProfileCriteria = c
		}
		return "ClearChargingProfile", Raw(req), nil
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

// chargingProfile is SetChargingProfile with one schedule of one period: relative to the
// transaction, or absolute from ValidFrom.
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
	sched := v201.ChargingScheduleType{ID: 1, ChargingRateUnit: v201.ChargingRateUnitEnumType(unit),
		ChargingSchedulePeriod: []v201.ChargingSchedulePeriodType{{StartPeriod: 0, Limit: *r.Limit}}}
	if r.NumberPhases != 0 {
		n := r.NumberPhases
		sched.ChargingSchedulePeriod[0].NumberPhases = &n
	}
	cp := v201.ChargingProfileType{ID: r.ProfileID, ChargingProfilePurpose: v201.ChargingProfilePurposeEnumType(purpose),
		ChargingProfileKind: v201.ChargingProfileKindRelative}
	if cp.ID == 0 {
		cp.ID = app.ProfileIDFor(purpose, r.EVSENo)
	}
	sched.ID = cp.ID
	if r.StackLevel != nil {
		cp.StackLevel = *r.StackLevel
	}
	if r.ValidFrom != nil {
		cp.ChargingProfileKind = v201.ChargingProfileKindAbsolute
		sched.StartSchedule = r.ValidFrom.UTC().Format(time.RFC3339)
		cp.ValidFrom = sched.StartSchedule
	}
	if r.ValidTo != nil {
		cp.ValidTo = r.ValidTo.UTC().Format(time.RFC3339)
	}
	cp.ChargingSchedule = []v201.ChargingScheduleType{sched}
	switch purpose {
	case "TxProfile":
		if r.TransactionID == "" || r.EVSENo == 0 {
			return action, nil, errs.Field("transaction_id", "a TxProfile needs the transaction and its evse_no")
		}
		cp.TransactionID = r.TransactionID
	case "ChargingStationMaxProfile":
		if r.EVSENo != 0 {
			return action, nil, errs.Field("evse_no", "a ChargingStationMaxProfile is set on EVSE 0")
		}
	}
	return action, Raw(v201.SetChargingProfileRequest{EvseID: r.EVSENo, ChargingProfile: cp}), nil
}
