package sim

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// handlers16 answers the CSMS-initiated calls of OCPP 1.6. Anything else is NotImplemented.
var handlers16 = map[string]handler{
	"RemoteStartTransaction": remoteStart16,
	"RemoteStopTransaction":  remoteStop16,
	"Reset":                  reset16,
	"UnlockConnector":        unlock16,
	"ChangeAvailability":     changeAvailability16,
	"GetConfiguration":       getConfiguration16,
	"ChangeConfiguration":    changeConfiguration16,
	"TriggerMessage":         trigger16,
	"ClearCache":             func(*Station, json.RawMessage) (reply, *ocppj.Error) { return status("Accepted"), nil },
	"SendLocalList":          sendLocalList16,
	"GetLocalListVersion":    getLocalListVersion16,
	"ReserveNow":             reserveNow16,
	"CancelReservation":      cancelReservation,
	"GetDiagnostics":         getDiagnostics16,
	"UpdateFirmware":         updateFirmware16,
	"DataTransfer":           func(*Station, json.RawMessage) (reply, *ocppj.Error) { return status("Accepted"), nil },
	"SetChargingProfile":     setChargingProfile16,
	"ClearChargingProfile":   clearChargingProfile16,
	"GetCompositeSchedule":   getCompositeSchedule16,
}

func remoteStart16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ConnectorID     *int             `json:"connectorId"`
		IDTag           string           `json:"idTag"`
		ChargingProfile *json.RawMessage `json:"chargingProfile"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.pickEVSELocked(r.ConnectorID, r.IDTag)
	if e == nil {
		return status("Rejected"), nil
	}
	e.claimed = true
	if r.ChargingProfile != nil {
		if cp, ok := profile16(*r.ChargingProfile, e.ID); ok {
			s.setProfileLocked(cp)
		}
	}
	id := e.ID
	return reply{payload: map[string]string{"status": "Accepted"}, follow: func(ctx context.Context) {
		s.remoteSession(ctx, id, r.IDTag, nil)
	}}, nil
}

func remoteStop16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		TransactionID int `json:"transactionId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, tx := s.findTxLocked(func(tx *Transaction) bool { return tx.csmsID == r.TransactionID && tx.csmsID != 0 })
	if e == nil {
		return status("Rejected"), nil
	}
	id := e.ID
	return reply{payload: map[string]string{"status": "Accepted"}, follow: func(ctx context.Context) {
		s.stopIf(ctx, id, tx, "Remote")
	}}, nil
}

func reset16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		Type string `json:"type"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	reason := "SoftReset"
	if r.Type == "Hard" {
		reason = "HardReset"
	}
	return reply{payload: map[string]string{"status": "Accepted"}, follow: s.reboot(reason)}, nil
}

func unlock16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ConnectorID int `json:"connectorId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.ConnectorID < 1 || r.ConnectorID > len(s.evses) {
		return status("NotSupported"), nil
	}
	tx := s.currentTx(r.ConnectorID)
	rep := status("Unlocked")
	if tx != nil {
		rep.follow = func(ctx context.Context) { s.stopIf(ctx, r.ConnectorID, tx, "UnlockCommand") }
	}
	return rep, nil
}

func changeAvailability16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ConnectorID int    `json:"connectorId"`
		Type        string `json:"type"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.ConnectorID < 0 || r.ConnectorID > len(s.evses) {
		return status("Rejected"), nil
	}
	s.mu.Lock()
	scheduled, changed := s.setAvailabilityLocked(r.ConnectorID, r.Type == "Operative")
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

type configurationKey struct {
	Key      string `json:"key"`
	Readonly bool   `json:"readonly"`
	Value    string `json:"value"`
}

func getConfiguration16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		Key []string `json:"key"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var known []configurationKey
	var unknown []string
	if len(r.Key) == 0 {
		for _, v := range s.vars {
			if v.key16 != "" {
				known = append(known, configurationKey{v.key16, v.readonly, v.value})
			}
		}
	}
	for _, k := range r.Key {
		if v := s.find16(k); v != nil {
			known = append(known, configurationKey{v.key16, v.readonly, v.value})
		} else {
			unknown = append(unknown, k)
		}
	}
	out := map[string]any{}
	if len(known) > 0 {
		out["configurationKey"] = known
	}
	if len(unknown) > 0 {
		out["unknownKey"] = unknown
	}
	return reply{payload: out}, nil
}

func changeConfiguration16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.find16(r.Key)
	switch {
	case v == nil:
		return status("NotSupported"), nil
	case v.readonly || !v.valid(r.Value):
		return status("Rejected"), nil
	}
	v.value = r.Value
	if s.applyVarLocked(v) {
		s.kick(s.hbCh)
	}
	return status("Accepted"), nil
}

func trigger16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		RequestedMessage string `json:"requestedMessage"`
		ConnectorID      *int   `json:"connectorId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	conn := -1 // all
	if r.ConnectorID != nil {
		if *r.ConnectorID < 0 || *r.ConnectorID > len(s.evses) {
			return status("Rejected"), nil
		}
		conn = *r.ConnectorID
	}
	var f func(ctx context.Context)
	switch r.RequestedMessage {
	case "BootNotification":
		f = s.sendTriggeredBoot
	case "Heartbeat":
		f = func(ctx context.Context) { s.Heartbeat(ctx) }
	case "StatusNotification":
		f = func(ctx context.Context) {
			if conn < 0 {
				s.SendStatusAll(ctx)
			} else if conn == 0 {
				s.SendStatus(ctx, 0, s.stationStatus())
			} else {
				s.SendStatus(ctx, conn, s.Status(conn))
			}
		}
	case "MeterValues":
		f = func(ctx context.Context) {
			if conn < 0 {
				for _, e := range s.evses {
					s.sendTriggeredMeterValues(ctx, e.ID)
				}
			} else {
				s.sendTriggeredMeterValues(ctx, conn)
			}
		}
	case "DiagnosticsStatusNotification":
		f = s.fileStatus("DiagnosticsStatusNotification", []string{"Idle"}, nil)
	case "FirmwareStatusNotification":
		f = s.fileStatus("FirmwareStatusNotification", []string{"Idle"}, nil)
	default:
		return status("NotImplemented"), nil
	}
	return reply{payload: map[string]string{"status": "Accepted"}, follow: f}, nil
}

func sendLocalList16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ListVersion int `json:"listVersion"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	s.listVersion = r.ListVersion
	s.mu.Unlock()
	return status("Accepted"), nil
}

func getLocalListVersion16(s *Station, _ json.RawMessage) (reply, *ocppj.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return reply{payload: map[string]int{"listVersion": s.listVersion}}, nil
}

func reserveNow16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ConnectorID   int `json:"connectorId"`
		ReservationID int `json:"reservationId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.ConnectorID < 0 || r.ConnectorID > len(s.evses) {
		return status("Rejected"), nil
	}
	id := r.ConnectorID
	return s.reserve(r.ReservationID, &id), nil
}

// reserve implements ReserveNow for both versions; evse nil or 0 picks a free EVSE.
func (s *Station) reserve(resID int, evse *int) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *EVSE
	if evse != nil && *evse > 0 {
		e = s.evses[*evse-1]
	} else {
		for _, x := range s.evses {
			if x.tx == nil && !x.claimed && !x.unavailable && x.reserved == 0 {
				e = x
				break
			}
		}
		if e == nil {
			return status("Occupied")
		}
	}
	switch {
	case e.unavailable:
		return status("Unavailable")
	case e.tx != nil || e.claimed || (e.reserved != 0 && e.reserved != resID):
		return status("Occupied")
	}
	e.reserved = resID
	e.status = "Reserved"
	s.reservations[resID] = e.ID
	return reply{payload: map[string]string{"status": "Accepted"}, follow: s.sendStatuses([]int{e.ID})}
}

func cancelReservation(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ReservationID int `json:"reservationId"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	evse, ok := s.reservations[r.ReservationID]
	if !ok {
		return status("Rejected"), nil
	}
	delete(s.reservations, r.ReservationID)
	e := s.evses[evse-1]
	if e.reserved != r.ReservationID {
		return status("Accepted"), nil
	}
	e.reserved = 0
	if e.tx == nil && !e.unavailable {
		e.status = "Available"
	}
	return reply{payload: map[string]string{"status": "Accepted"}, follow: s.sendStatuses([]int{evse})}, nil
}

func getDiagnostics16(s *Station, _ json.RawMessage) (reply, *ocppj.Error) {
	name := "diagnostics-" + s.id + "-" + strconv.FormatInt(time.Now().Unix(), 10) + ".log"
	return reply{payload: map[string]string{"fileName": name},
		follow: s.fileStatus("DiagnosticsStatusNotification", []string{"Uploading", "Uploaded"}, nil)}, nil
}

func updateFirmware16(s *Station, _ json.RawMessage) (reply, *ocppj.Error) {
	return reply{payload: struct{}{},
		follow: s.fileStatus("FirmwareStatusNotification", []string{"Downloading", "Downloaded", "Installing", "Installed"}, nil)}, nil
}

// profile16 reads the part of a 1.6 ChargingProfile the simulator uses.
func profile16(raw json.RawMessage, evse int) (chargingProfile, bool) {
	var r struct {
		ChargingProfileID      int    `json:"chargingProfileId"`
		StackLevel             int    `json:"stackLevel"`
		ChargingProfilePurpose string `json:"chargingProfilePurpose"`
		TransactionID          *int   `json:"transactionId"`
		ChargingSchedule       struct {
			ChargingRateUnit       string `json:"chargingRateUnit"`
			ChargingSchedulePeriod []struct {
				Limit float64 `json:"limit"`
			} `json:"chargingSchedulePeriod"`
		} `json:"chargingSchedule"`
	}
	if json.Unmarshal(raw, &r) != nil || len(r.ChargingSchedule.ChargingSchedulePeriod) == 0 {
		return chargingProfile{}, false
	}
	cp := chargingProfile{id: r.ChargingProfileID, evse: evse, stackLevel: r.StackLevel, purpose: r.ChargingProfilePurpose,
		unit: r.ChargingSchedule.ChargingRateUnit, limit: r.ChargingSchedule.ChargingSchedulePeriod[0].Limit}
	if r.TransactionID != nil {
		cp.txID = strconv.Itoa(*r.TransactionID)
	}
	return cp, true
}

func setChargingProfile16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ConnectorID        int             `json:"connectorId"`
		CsChargingProfiles json.RawMessage `json:"csChargingProfiles"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.ConnectorID < 0 || r.ConnectorID > len(s.evses) {
		return status("Rejected"), nil
	}
	cp, ok := profile16(r.CsChargingProfiles, r.ConnectorID)
	if !ok {
		return status("Rejected"), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cp.purpose == "TxProfile" && (r.ConnectorID == 0 || s.evses[r.ConnectorID-1].tx == nil) {
		return status("Rejected"), nil // a TxProfile needs a running transaction
	}
	s.setProfileLocked(cp)
	return status("Accepted"), nil
}

func clearChargingProfile16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ID          *int   `json:"id"`
		ConnectorID *int   `json:"connectorId"`
		Purpose     string `json:"chargingProfilePurpose"`
		StackLevel  *int   `json:"stackLevel"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := s.clearProfilesLocked(func(cp chargingProfile) bool {
		if r.ID != nil {
			return cp.id == *r.ID
		}
		return (r.ConnectorID == nil || cp.evse == *r.ConnectorID) &&
			(r.Purpose == "" || cp.purpose == r.Purpose) &&
			(r.StackLevel == nil || cp.stackLevel == *r.StackLevel)
	})
	if !removed {
		return status("Unknown"), nil
	}
	return status("Accepted"), nil
}

func getCompositeSchedule16(s *Station, p json.RawMessage) (reply, *ocppj.Error) {
	var r struct {
		ConnectorID      int    `json:"connectorId"`
		Duration         int    `json:"duration"`
		ChargingRateUnit string `json:"chargingRateUnit"`
	}
	if err := decode(p, &r); err != nil {
		return reply{}, err
	}
	if r.ConnectorID < 0 || r.ConnectorID > len(s.evses) {
		return status("Rejected"), nil
	}
	unit := r.ChargingRateUnit
	if unit == "" {
		unit = "W"
	}
	s.mu.Lock()
	limit := s.compositeLimitLocked(r.ConnectorID, unit)
	s.mu.Unlock()
	return reply{payload: map[string]any{
		"status": "Accepted", "connectorId": r.ConnectorID, "scheduleStart": now(),
		"chargingSchedule": map[string]any{
			"duration": r.Duration, "chargingRateUnit": unit,
			"chargingSchedulePeriod": []map[string]any{{"startPeriod": 0, "limit": limit}},
		},
	}}, nil
}
