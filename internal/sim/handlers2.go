package sim

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// handlers2 answers the CSMS-initiated calls of OCPP 2.0.1 and 2.1 (their payloads agree on
// everything used here). Anything else is NotImplemented.
var handlers2 = map[string]handler{
	"RequestStartTransaction": requestStart2,
	"RequestStopTransaction":  requestStop2,
	"Reset":                   reset2,
	"UnlockConnector":         unlock2,
	"ChangeAvailability":      changeAvailability2,
	"GetVariables":            getVariables2,
	"SetVariables":            setVariables2,
	"GetBaseReport":           getBaseReport2,
	"TriggerMessage":          trigger2,
	"ClearCache":              func(*Station, json.RawMessage) (reply, *ocppj.Error) { return status("Accepted"), nil },
	"SendLocalList":           sendLocalList2,
	"GetLocalListVersion":     getLocalListVersion2,
	"ReserveNow":              reserveNow2,
	"CancelReservation":       cancelReservation,
	"GetLog":                  getLog2,
	"UpdateFirmware":          updateFirmware2,
	"DataTransfer":            func(*Station, json.RawMessage) (reply, *ocppj.Error) { return status("Accepted"), nil },
	"SetChargingProfile":      setChargingProfile2,
	"ClearChargingProfile":    clearChargingProfile2,
	"GetCompositeSchedule":    getCompositeSchedule2,
}

type evseRef struct {
	ID          int  `json:"id"`
	ConnectorID *int `json:"connectorId,omitempty"`
}

func requestStart2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		EvseID        *int `json:"evseId"`
		RemoteStartID int  `json:"remoteStartId"`
		IDToken       struct {
			IDToken string `json:"idToken"`
		} `json:"idToken"`
		ChargingProfile *json.RawMessage `json:"chargingProfile"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.pickEVSELocked(r.EvseID, r.IDToken.IDToken)
	if e == nil {
		return status("Rejected"), nil
	}
	e.claimed = true
	if r.ChargingProfile != nil {
		if cp, ok := profile2(*r.ChargingProfile, e.ID); ok {
			s.setProfileLocked(cp)
		}
	}
	id, rsid := e.ID, r.RemoteStartID
	return reply{payload: map[string]string{"status": "Accepted"}, follow: func(ctx context.Context) {
		s.remoteSession(ctx, id, r.IDToken.IDToken, &rsid)
	}}, nil
}

func requestStop2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		TransactionID string `json:"transactionId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, tx := s.findTxLocked(func(tx *Transaction) bool { return tx.id == r.TransactionID })
	if e == nil {
		return status("Rejected"), nil
	}
	id := e.ID
	return reply{payload: map[string]string{"status": "Accepted"}, follow: func(ctx context.Context) {
		s.stopIf(ctx, id, tx, "Remote")
	}}, nil
}

func reset2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		Type   string `json:"type"`
		EvseID *int   `json:"evseId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.EvseID != nil && *r.EvseID != 0 {
		if *r.EvseID < 1 || *r.EvseID > len(s.evses) {
			return status("Rejected"), nil
		}
		tx := s.currentTx(*r.EvseID)
		if tx == nil {
			return status("Accepted"), nil
		}
		if r.Type == "OnIdle" {
			return status("Scheduled"), nil
		}
		id := *r.EvseID
		return reply{payload: map[string]string{"status": "Accepted"}, follow: func(ctx context.Context) {
			s.stopIf(ctx, id, tx, "ImmediateReset")
		}}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Type == "OnIdle" && !s.idleLocked() {
		s.pendingReset = true // the last session's end reboots the station
		return status("Scheduled"), nil
	}
	return reply{payload: map[string]string{"status": "Accepted"}, follow: s.reboot("ImmediateReset")}, nil
}

func unlock2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		EvseID      int `json:"evseId"`
		ConnectorID int `json:"connectorId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.EvseID < 1 || r.EvseID > len(s.evses) || r.ConnectorID != 1 {
		return status("UnknownConnector"), nil
	}
	if s.currentTx(r.EvseID) != nil {
		return status("OngoingAuthorizedTransaction"), nil
	}
	return status("Unlocked"), nil
}

func changeAvailability2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		OperationalStatus string   `json:"operationalStatus"`
		Evse              *evseRef `json:"evse"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	evse := 0
	if r.Evse != nil {
		evse = r.Evse.ID
		if evse < 0 || evse > len(s.evses) || (r.Evse.ConnectorID != nil && *r.Evse.ConnectorID != 1) {
			return status("Rejected"), nil
		}
	}
	s.mu.Lock()
	scheduled, changed := s.setAvailabilityLocked(evse, r.OperationalStatus == "Operative")
	s.mu.Unlock()
	rep := status("Accepted")
	if scheduled {
		rep = status("Scheduled")
	}
	if len(changed) > 0 {
		rep.follow = s.sendStatuses(changed)
	}
	return rep, nil
}

// component / variable are echoed back as received.
type varRef struct {
	Component     json.RawMessage `json:"component"`
	Variable      json.RawMessage `json:"variable"`
	AttributeType string          `json:"attributeType,omitempty"`
}

func (v varRef) names() (component, name string) {
	var c, x struct {
		Name string `json:"name"`
	}
	json.Unmarshal(v.Component, &c)
	json.Unmarshal(v.Variable, &x)
	return c.Name, x.Name
}

func getVariables2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		GetVariableData []varRef `json:"getVariableData"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(r.GetVariableData))
	for _, d := range r.GetVariableData {
		res := map[string]any{"component": d.Component, "variable": d.Variable}
		if d.AttributeType != "" {
			res["attributeType"] = d.AttributeType
		}
		comp, name := d.names()
		v, compKnown := s.find2(comp, name)
		switch {
		case !compKnown:
			res["attributeStatus"] = "UnknownComponent"
		case v == nil:
			res["attributeStatus"] = "UnknownVariable"
		case d.AttributeType != "" && d.AttributeType != "Actual":
			res["attributeStatus"] = "NotSupportedAttributeType"
		default:
			res["attributeStatus"] = "Accepted"
			res["attributeValue"] = v.value
		}
		out = append(out, res)
	}
	return reply{payload: map[string]any{"getVariableResult": out}}, nil
}

func setVariables2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		SetVariableData []struct {
			varRef
			AttributeValue string `json:"attributeValue"`
		} `json:"setVariableData"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(r.SetVariableData))
	hb := false
	for _, d := range r.SetVariableData {
		res := map[string]any{"component": d.Component, "variable": d.Variable}
		if d.AttributeType != "" {
			res["attributeType"] = d.AttributeType
		}
		comp, name := d.names()
		v, compKnown := s.find2(comp, name)
		switch {
		case !compKnown:
			res["attributeStatus"] = "UnknownComponent"
		case v == nil:
			res["attributeStatus"] = "UnknownVariable"
		case d.AttributeType != "" && d.AttributeType != "Actual":
			res["attributeStatus"] = "NotSupportedAttributeType"
		case v.readonly || !v.valid(d.AttributeValue):
			res["attributeStatus"] = "Rejected"
		default:
			v.value = d.AttributeValue
			hb = s.applyVarLocked(v) || hb
			res["attributeStatus"] = "Accepted"
		}
		out = append(out, res)
	}
	if hb {
		s.kick(s.hbCh)
	}
	return reply{payload: map[string]any{"setVariableResult": out}}, nil
}

func getBaseReport2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		RequestID  int    `json:"requestId"`
		ReportBase string `json:"reportBase"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	return reply{payload: map[string]string{"status": "Accepted"}, follow: func(ctx context.Context) {
		s.Call(ctx, "NotifyReport", s.report(r.RequestID))
	}}, nil
}

// report is the NotifyReport of every 2.x variable, in one message.
func (s *Station) report(requestID int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var data []map[string]any
	for _, v := range s.vars {
		if v.component == "" {
			continue
		}
		mut, typ := "ReadWrite", "string"
		if v.readonly {
			mut = "ReadOnly"
		}
		switch v.kind {
		case 'i':
			typ = "integer"
		case 'b':
			typ = "boolean"
		}
		data = append(data, map[string]any{
			"component":               map[string]string{"name": v.component},
			"variable":                map[string]string{"name": v.name},
			"variableAttribute":       []map[string]string{{"type": "Actual", "value": v.value, "mutability": mut}},
			"variableCharacteristics": map[string]any{"dataType": typ, "supportsMonitoring": false},
		})
	}
	return map[string]any{"requestId": requestID, "generatedAt": now(), "seqNo": 0, "tbc": false, "reportData": data}
}

func trigger2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		RequestedMessage string   `json:"requestedMessage"`
		Evse             *evseRef `json:"evse"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	evse := -1 // all
	if r.Evse != nil {
		if r.Evse.ID < 0 || r.Evse.ID > len(s.evses) || (r.Evse.ConnectorID != nil && *r.Evse.ConnectorID != 1) {
			return status("Rejected"), nil
		}
		evse = r.Evse.ID
	}
	var f func(ctx context.Context)
	switch r.RequestedMessage {
	case "BootNotification":
		f = s.sendTriggeredBoot
	case "Heartbeat":
		f = func(ctx context.Context) { s.Heartbeat(ctx) }
	case "StatusNotification":
		f = func(ctx context.Context) {
			if evse <= 0 {
				s.SendStatusAll(ctx)
			} else {
				s.SendStatus(ctx, evse, s.Status(evse))
			}
		}
	case "MeterValues":
		f = func(ctx context.Context) { s.sendTriggeredMeterValues(ctx, max(evse, 0)) }
	case "TransactionEvent":
		var ids []int
		s.mu.Lock()
		for _, e := range s.evses {
			if e.tx != nil && (evse <= 0 || e.ID == evse) {
				ids = append(ids, e.ID)
			}
		}
		s.mu.Unlock()
		if len(ids) == 0 {
			return status("Rejected"), nil
		}
		f = func(ctx context.Context) {
			for _, id := range ids {
				s.sendTriggeredEvent(ctx, id)
			}
		}
	case "LogStatusNotification":
		f = s.fileStatus("LogStatusNotification", []string{"Idle"}, nil)
	case "FirmwareStatusNotification":
		f = s.fileStatus("FirmwareStatusNotification", []string{"Idle"}, nil)
	default:
		return status("NotImplemented"), nil
	}
	return reply{payload: map[string]string{"status": "Accepted"}, follow: f}, nil
}

// sendTriggeredEvent sends TransactionEvent Updated (trigger Trigger) with a fresh reading.
func (s *Station) sendTriggeredEvent(ctx context.Context, evse int) {
	e := s.evses[evse-1]
	e.op.Lock()
	defer e.op.Unlock()
	s.mu.Lock()
	tx := e.tx
	if tx == nil {
		s.mu.Unlock()
		return
	}
	ts := now()
	ev := s.event(tx, "Updated", "Trigger", ts, map[string]any{"transactionId": tx.id, "chargingState": "Charging"}, !s.booted,
		s.meterValues(e.meter.Sample(), ts, "Trigger", false))
	s.mu.Unlock()
	s.sendTx(ctx, s.eventMsg(ev, true, nil))
}

func sendLocalList2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		VersionNumber int `json:"versionNumber"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	s.listVersion = r.VersionNumber
	s.mu.Unlock()
	return status("Accepted"), nil
}

func getLocalListVersion2(s *Station, _ json.RawMessage) (reply, *ocppj.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return reply{payload: map[string]int{"versionNumber": s.listVersion}}, nil
}

func reserveNow2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ID     int  `json:"id"`
		EvseID *int `json:"evseId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.EvseID != nil && (*r.EvseID < 0 || *r.EvseID > len(s.evses)) {
		return status("Rejected"), nil
	}
	return s.reserve(r.ID, r.EvseID), nil
}

func getLog2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		RequestID int `json:"requestId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	name := "log-" + s.id + "-" + strconv.FormatInt(time.Now().Unix(), 10) + ".log"
	return reply{payload: map[string]string{"status": "Accepted", "filename": name},
		follow: s.fileStatus("LogStatusNotification", []string{"Uploading", "Uploaded"}, map[string]any{"requestId": r.RequestID})}, nil
}

func updateFirmware2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		RequestID int `json:"requestId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	return reply{payload: map[string]string{"status": "Accepted"},
		follow: s.fileStatus("FirmwareStatusNotification", []string{"Downloading", "Downloaded", "Installing", "Installed"},
			map[string]any{"requestId": r.RequestID})}, nil
}

// profile2 reads the part of a 2.x ChargingProfileType the simulator uses (first schedule,
// first period; a 2.1 period without a limit leaves the power uncapped).
func profile2(raw json.RawMessage, evse int) (chargingProfile, bool) {
	var r struct {
		ID                     int    `json:"id"`
		StackLevel             int    `json:"stackLevel"`
		ChargingProfilePurpose string `json:"chargingProfilePurpose"`
		TransactionID          string `json:"transactionId"`
		ChargingSchedule       []struct {
			ChargingRateUnit       string `json:"chargingRateUnit"`
			ChargingSchedulePeriod []struct {
				Limit *float64 `json:"limit"`
			} `json:"chargingSchedulePeriod"`
		} `json:"chargingSchedule"`
	}
	if json.Unmarshal(raw, &r) != nil || len(r.ChargingSchedule) == 0 || len(r.ChargingSchedule[0].ChargingSchedulePeriod) == 0 {
		return chargingProfile{}, false
	}
	cp := chargingProfile{id: r.ID, evse: evse, stackLevel: r.StackLevel, purpose: r.ChargingProfilePurpose,
		unit: r.ChargingSchedule[0].ChargingRateUnit, txID: r.TransactionID}
	if l := r.ChargingSchedule[0].ChargingSchedulePeriod[0].Limit; l != nil {
		cp.limit = *l
	}
	return cp, true
}

func setChargingProfile2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		EvseID          int             `json:"evseId"`
		ChargingProfile json.RawMessage `json:"chargingProfile"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.EvseID < 0 || r.EvseID > len(s.evses) {
		return status("Rejected"), nil
	}
	cp, ok := profile2(r.ChargingProfile, r.EvseID)
	if !ok {
		return status("Rejected"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cp.purpose == "TxProfile" && (r.EvseID == 0 || s.evses[r.EvseID-1].tx == nil) {
		return status("Rejected"), nil
	}
	s.setProfileLocked(cp)
	return status("Accepted"), nil
}

func clearChargingProfile2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ChargingProfileID *int `json:"chargingProfileId"`
		Criteria          *struct {
			EvseID     *int   `json:"evseId"`
			Purpose    string `json:"chargingProfilePurpose"`
			StackLevel *int   `json:"stackLevel"`
		} `json:"chargingProfileCriteria"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := s.clearProfilesLocked(func(cp chargingProfile) bool {
		if r.ChargingProfileID != nil {
			return cp.id == *r.ChargingProfileID
		}
		if c := r.Criteria; c != nil {
			return (c.EvseID == nil || cp.evse == *c.EvseID) && (c.Purpose == "" || cp.purpose == c.Purpose) &&
				(c.StackLevel == nil || cp.stackLevel == *c.StackLevel)
		}
		return true
	})
	if !removed {
		return status("Unknown"), nil
	}
	return status("Accepted"), nil
}

func getCompositeSchedule2(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		Duration         int    `json:"duration"`
		ChargingRateUnit string `json:"chargingRateUnit"`
		EvseID           int    `json:"evseId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.EvseID < 0 || r.EvseID > len(s.evses) {
		return status("Rejected"), nil
	}
	unit := r.ChargingRateUnit
	if unit == "" {
		unit = "W"
	}
	s.mu.Lock()
	limit := s.compositeLimitLocked(r.EvseID, unit)
	s.mu.Unlock()
	return reply{payload: map[string]any{"status": "Accepted", "schedule": map[string]any{
		"evseId": r.EvseID, "duration": r.Duration, "scheduleStart": now(), "chargingRateUnit": unit,
		"chargingSchedulePeriod": []map[string]any{{"startPeriod": 0, "limit": limit}},
	}}}, nil
}
