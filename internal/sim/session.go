package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// ErrNoTransaction is returned by session steps on an EVSE without a running transaction.
var ErrNoTransaction = errors.New("sim: no transaction on this evse")

// RejectedError says the CSMS did not accept the idTag/idToken of a start; the station has
// already ended the transaction (reason DeAuthorized).
type RejectedError struct{ Status string }

func (e *RejectedError) Error() string { return "sim: CSMS answered the start with status " + e.Status }

// EVSE is one charging point of a station (one connector). Its fields are guarded by the
// station's mutex; op serialises the session steps, which hold it across their CALLs (the read
// loop never takes it).
type EVSE struct {
	ID int
	op sync.Mutex

	status      string // 1.6 vocabulary
	meter       *Meter
	tx          *Transaction
	claimed     bool // a remote start has been accepted and is about to begin
	unavailable bool
	reserved    int // reservation id, 0 = none
}

// Transaction is the station's view of one session.
type Transaction struct {
	id            string // 2.x: UUID the station made; 1.6: the CSMS's integer once known
	csmsID        int
	evse          int
	tag           string
	remoteStartID *int
	startedAt     time.Time
	begin         Sample
	authStatus    string
	seqNo         int
	failed        bool // 1.6: the start was answered with a CALLERROR, there is no id
}

// TxInfo is a snapshot of a transaction for callers and tests.
type TxInfo struct {
	ID           string // transactionId (1.6: the CSMS's integer in decimal, "" until known)
	CSMSID       int    // 1.6: the integer transactionId from StartTransaction.conf
	EVSE         int
	Tag          string
	AuthStatus   string // idTagInfo/idTokenInfo status of the start reply ("" while unanswered)
	MeterStartWh int64
	StartedAt    time.Time
	SeqNo        int // 2.x: seqNo of the next TransactionEvent
}

func (tx *Transaction) info() TxInfo {
	return TxInfo{ID: tx.id, CSMSID: tx.csmsID, EVSE: tx.evse, Tag: tx.tag, AuthStatus: tx.authStatus,
		MeterStartWh: tx.begin.EnergyWh, StartedAt: tx.startedAt, SeqNo: tx.seqNo}
}

// Transaction returns the running transaction of an EVSE.
func (s *Station) Transaction(evse int) (TxInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if evse < 1 || evse > len(s.evses) || s.evses[evse-1].tx == nil {
		return TxInfo{}, false
	}
	return s.evses[evse-1].tx.info(), true
}

// Status returns the EVSE's current status (1.6 vocabulary).
func (s *Station) Status(evse int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if evse < 1 || evse > len(s.evses) {
		return ""
	}
	return s.evses[evse-1].status
}

// MeterSample reads an EVSE's meter.
func (s *Station) MeterSample(evse int) Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if evse < 1 || evse > len(s.evses) {
		return Sample{}
	}
	return s.evses[evse-1].meter.Sample()
}

func (s *Station) evse(id int) (*EVSE, error) {
	if id < 1 || id > len(s.evses) {
		return nil, fmt.Errorf("sim: %s has no evse %d", s.id, id)
	}
	return s.evses[id-1], nil
}

// Authorize asks the CSMS about tag and returns the status (Accepted, Invalid, …).
func (s *Station) Authorize(ctx context.Context, tag string) (string, error) {
	var v any
	if s.ver == ocppj.V16 {
		v = map[string]string{"idTag": tag}
	} else {
		v = map[string]any{"idToken": s.idToken(tag)}
	}
	resp, err := s.Call(ctx, "Authorize", v)
	if err != nil {
		return "", err
	}
	return authStatus(resp), nil
}

func (s *Station) idToken(tag string) map[string]string {
	return map[string]string{"idToken": tag, "type": s.cfg.TokenType}
}

// authStatus reads idTagInfo.status (1.6) or idTokenInfo.status (2.x) from a reply.
func authStatus(resp json.RawMessage) string {
	var r struct {
		IDTagInfo   *struct{ Status string } `json:"idTagInfo"`
		IDTokenInfo *struct{ Status string } `json:"idTokenInfo"`
	}
	if json.Unmarshal(resp, &r) != nil {
		return ""
	}
	switch {
	case r.IDTagInfo != nil:
		return r.IDTagInfo.Status
	case r.IDTokenInfo != nil:
		return r.IDTokenInfo.Status
	}
	return ""
}

// StartCharging plugs a vehicle into evse and starts a transaction for tag: 1.6 Preparing,
// StartTransaction (the CSMS's transactionId is kept), Charging; 2.x Occupied, TransactionEvent
// Started then Updated (Charging). Offline, the start is queued and the session goes on
// locally; the error is then ErrOffline. A start the CSMS does not accept is ended at once and
// returned as *RejectedError.
func (s *Station) StartCharging(ctx context.Context, evse int, tag string) (TxInfo, error) {
	return s.start(ctx, evse, tag, nil)
}

func (s *Station) start(ctx context.Context, evse int, tag string, remoteStartID *int) (TxInfo, error) {
	e, err := s.evse(evse)
	if err != nil {
		return TxInfo{}, err
	}
	e.op.Lock()
	defer e.op.Unlock()

	s.mu.Lock()
	if e.tx != nil {
		s.mu.Unlock()
		return TxInfo{}, ErrBusy
	}
	e.claimed = false
	e.reserved = 0
	e.meter.PlugIn(s.rng)
	e.meter.Idle()
	tx := &Transaction{evse: evse, tag: tag, remoteStartID: remoteStartID, startedAt: time.Now(), begin: e.meter.Sample()}
	if s.ver != ocppj.V16 {
		tx.id = s.uuidLocked()
	}
	e.tx = tx
	e.status = "Preparing"
	offline := !s.booted
	s.mu.Unlock()

	s.sendStatusQuiet(ctx, evse, "Preparing")
	ts := now()
	var m *txMsg
	if s.ver == ocppj.V16 {
		p := map[string]any{"connectorId": evse, "idTag": tag, "meterStart": tx.begin.EnergyWh, "timestamp": ts}
		b, _ := json.Marshal(p)
		m = &txMsg{id: s.newMsgID(), action: "StartTransaction", payload: b, onReply: func(resp json.RawMessage, err error) {
			var r struct {
				TransactionID int `json:"transactionId"`
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil || json.Unmarshal(resp, &r) != nil {
				tx.failed = true
				return
			}
			tx.csmsID, tx.id, tx.authStatus = r.TransactionID, strconv.Itoa(r.TransactionID), authStatus(resp)
		}}
	} else {
		trigger := "Authorized"
		info := map[string]any{"transactionId": tx.id, "chargingState": "EVConnected"}
		if remoteStartID != nil {
			trigger = "RemoteStart"
			info["remoteStartId"] = *remoteStartID
		}
		ev := s.event(tx, "Started", trigger, ts, info, offline, s.meterValues(tx.begin, ts, "Transaction.Begin", true))
		ev["evse"] = map[string]int{"id": evse, "connectorId": 1}
		ev["idToken"] = s.idToken(tag)
		m = s.eventMsg(ev, false, func(resp json.RawMessage, err error) {
			if err == nil {
				s.mu.Lock()
				tx.authStatus = authStatus(resp)
				s.mu.Unlock()
			}
		})
	}
	_, err = s.sendTx(ctx, m)
	var ce *ocppj.CallError
	if errors.As(err, &ce) && s.ver == ocppj.V16 {
		// No transactionId: the session cannot exist for the CSMS.
		s.mu.Lock()
		e.tx, e.status = nil, "Available"
		s.mu.Unlock()
		s.sendStatusQuiet(ctx, evse, "Available")
		return tx.snapshot(s), err
	}
	if st := tx.snapshot(s).AuthStatus; st != "" && st != "Accepted" {
		s.stop(ctx, e, "DeAuthorized")
		return tx.snapshot(s), &RejectedError{Status: st}
	}
	startErr := err
	if s.ver != ocppj.V16 {
		s.mu.Lock()
		ev := s.event(tx, "Updated", "ChargingStateChanged", now(), map[string]any{"transactionId": tx.id, "chargingState": "Charging"}, !s.booted, nil)
		s.mu.Unlock()
		if _, err := s.sendTx(ctx, s.eventMsg(ev, false, nil)); err != nil && startErr == nil {
			startErr = err
		}
	}
	s.mu.Lock()
	e.status = "Charging"
	s.mu.Unlock()
	s.sendStatusQuiet(ctx, evse, "Charging")
	return tx.snapshot(s), startErr
}

func (tx *Transaction) snapshot(s *Station) TxInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tx.info()
}

// sendStatusQuiet sends a status change; status is informative, so failures (offline) only
// count in the stats.
func (s *Station) sendStatusQuiet(ctx context.Context, evse int, status string) {
	if s.ver != ocppj.V16 && status201(status) == "Occupied" && status != "Preparing" {
		return // 2.x: one Occupied when the session begins, nothing for Charging/Finishing
	}
	if err := s.SendStatus(ctx, evse, status); err != nil {
		s.log.Debug("status not sent", "evse", evse, "status", status, "err", err)
	}
}

// SendMeterValues lets one MeterInterval of charging pass on evse and reports it: 1.6
// MeterValues with the transactionId, 2.x TransactionEvent Updated (MeterValuePeriodic).
func (s *Station) SendMeterValues(ctx context.Context, evse int) (Sample, error) {
	e, err := s.evse(evse)
	if err != nil {
		return Sample{}, err
	}
	e.op.Lock()
	defer e.op.Unlock()
	s.mu.Lock()
	tx := e.tx
	if tx == nil {
		s.mu.Unlock()
		return Sample{}, ErrNoTransaction
	}
	e.meter.Advance(s.cfg.SimStep)
	smp := e.meter.Sample()
	ts := now()
	var m *txMsg
	if s.ver == ocppj.V16 {
		mv := []any{s.meterValue(smp, ts, "Sample.Periodic", false)}
		m = &txMsg{id: s.newMsgID(), action: "MeterValues", droppable: true, build: func() ([]byte, bool) {
			s.mu.Lock()
			id, failed := tx.csmsID, tx.failed
			s.mu.Unlock()
			if failed {
				return nil, false
			}
			p := map[string]any{"connectorId": evse, "meterValue": mv}
			if id != 0 {
				p["transactionId"] = id
			}
			b, _ := json.Marshal(p)
			return b, true
		}}
	} else {
		ev := s.event(tx, "Updated", "MeterValuePeriodic", ts, map[string]any{"transactionId": tx.id, "chargingState": "Charging"}, !s.booted, s.meterValues(smp, ts, "Sample.Periodic", false))
		m = s.eventMsg(ev, true, nil)
	}
	s.mu.Unlock()
	_, err = s.sendTx(ctx, m)
	return smp, err
}

// StopCharging ends the transaction on evse with reason (1.6 Reason / 2.x ReasonEnumType
// names, e.g. Local, Remote, EVDisconnected, DeAuthorized; translated when the version spells
// it differently): 1.6 Finishing, StopTransaction with transactionData, Available; 2.x
// TransactionEvent Ended, Available.
func (s *Station) StopCharging(ctx context.Context, evse int, reason string) (TxInfo, error) {
	e, err := s.evse(evse)
	if err != nil {
		return TxInfo{}, err
	}
	e.op.Lock()
	defer e.op.Unlock()
	return s.stop(ctx, e, reason)
}

// stop runs with e.op held.
func (s *Station) stop(ctx context.Context, e *EVSE, reason string) (TxInfo, error) {
	s.mu.Lock()
	tx := e.tx
	if tx == nil {
		s.mu.Unlock()
		return TxInfo{}, ErrNoTransaction
	}
	e.meter.Idle()
	end := e.meter.Sample()
	e.status = "Finishing"
	ts := now()
	var m *txMsg
	if s.ver == ocppj.V16 {
		reason = reason16(reason)
		data := []any{s.meterValue(tx.begin, tx.startedAt.UTC().Format("2006-01-02T15:04:05.000Z"), "Transaction.Begin", true),
			s.meterValue(end, ts, "Transaction.End", true)}
		m = &txMsg{id: s.newMsgID(), action: "StopTransaction", build: func() ([]byte, bool) {
			s.mu.Lock()
			id, failed := tx.csmsID, tx.failed
			s.mu.Unlock()
			if failed {
				return nil, false
			}
			p := map[string]any{"idTag": tx.tag, "meterStop": end.EnergyWh, "timestamp": ts, "transactionId": id,
				"reason": reason, "transactionData": data}
			b, _ := json.Marshal(p)
			return b, true
		}}
	} else {
		reason = reason201(reason)
		state := "EVConnected"
		if reason == "EVDisconnected" {
			state = "Idle"
		}
		info := map[string]any{"transactionId": tx.id, "chargingState": state, "stoppedReason": reason}
		if tx.remoteStartID != nil {
			info["remoteStartId"] = *tx.remoteStartID
		}
		ev := s.event(tx, "Ended", stopTrigger(reason), ts, info, !s.booted, s.meterValues(end, ts, "Transaction.End", true))
		ev["evse"] = map[string]int{"id": e.ID, "connectorId": 1}
		if reason == "Local" {
			ev["idToken"] = s.idToken(tx.tag)
		}
		m = s.eventMsg(ev, false, nil)
	}
	s.mu.Unlock()

	s.sendStatusQuiet(ctx, e.ID, "Finishing")
	_, err := s.sendTx(ctx, m)

	s.mu.Lock()
	info := tx.info()
	e.tx = nil
	e.status = "Available"
	if e.unavailable {
		e.status = "Unavailable"
	}
	st := e.status
	reboot := s.pendingReset && s.idleLocked()
	if reboot {
		s.pendingReset = false
	}
	s.mu.Unlock()
	s.sendStatusQuiet(ctx, e.ID, st)
	if reboot {
		s.kick(s.rebootCh)
	}
	return info, err
}

func (s *Station) idleLocked() bool {
	for _, e := range s.evses {
		if e.tx != nil || e.claimed {
			return false
		}
	}
	return true
}

// event builds a 2.x TransactionEvent payload and takes the transaction's next seqNo. Called
// with s.mu held.
func (s *Station) event(tx *Transaction, typ, trigger, ts string, info map[string]any, offline bool, mv []any) map[string]any {
	ev := map[string]any{"eventType": typ, "timestamp": ts, "triggerReason": trigger, "seqNo": tx.seqNo, "transactionInfo": info}
	tx.seqNo++
	if offline {
		ev["offline"] = true
	}
	if len(mv) > 0 {
		ev["meterValue"] = mv
	}
	return ev
}

func (s *Station) eventMsg(ev map[string]any, droppable bool, onReply func(json.RawMessage, error)) *txMsg {
	b, _ := json.Marshal(ev)
	return &txMsg{id: s.newMsgID(), action: "TransactionEvent", payload: b, droppable: droppable, onReply: onReply}
}

// uuidLocked makes a random (version 4) UUID from the station's generator, so runs with a
// seed are reproducible.
func (s *Station) uuidLocked() string {
	var b [16]byte
	hi, lo := s.rng.Uint64(), s.rng.Uint64()
	for i := 0; i < 8; i++ {
		b[i], b[8+i] = byte(hi>>(8*i)), byte(lo>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&0xf])
	}
	return string(out)
}

// reason16 / reason201 translate a stop reason to the version's enum.
func reason16(r string) string {
	switch r {
	case "EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss", "Reboot", "Remote", "SoftReset", "UnlockCommand", "DeAuthorized":
		return r
	case "ImmediateReset":
		return "SoftReset"
	}
	return "Other"
}

func reason201(r string) string {
	switch r {
	case "DeAuthorized", "EmergencyStop", "EnergyLimitReached", "EVDisconnected", "GroundFault", "ImmediateReset",
		"Local", "LocalOutOfCredit", "MasterPass", "Other", "OvercurrentFault", "PowerLoss", "PowerQuality",
		"Reboot", "Remote", "SOCLimitReached", "StoppedByEV", "TimeLimitReached", "Timeout":
		return r
	case "SoftReset", "HardReset":
		return "ImmediateReset"
	}
	return "Other"
}

func stopTrigger(reason string) string {
	switch reason {
	case "Remote":
		return "RemoteStop"
	case "Local":
		return "StopAuthorized"
	case "EVDisconnected":
		return "EVCommunicationLost"
	case "DeAuthorized":
		return "Deauthorized"
	case "EnergyLimitReached":
		return "EnergyLimitReached"
	case "TimeLimitReached":
		return "TimeLimitReached"
	case "ImmediateReset":
		return "ResetCommand"
	}
	return "AbnormalCondition"
}

// sampledValue16 / sampledValue2 are the wire forms: 1.6 values are decimal strings, 2.x values
// JSON numbers (written from integers, never through float64).
type sampledValue16 struct {
	Value     string `json:"value"`
	Context   string `json:"context,omitempty"`
	Measurand string `json:"measurand,omitempty"`
	Location  string `json:"location,omitempty"`
	Unit      string `json:"unit,omitempty"`
}

type unitOfMeasure struct {
	Unit string `json:"unit"`
}

type sampledValue2 struct {
	Value         json.Number    `json:"value"`
	Context       string         `json:"context,omitempty"`
	Measurand     string         `json:"measurand,omitempty"`
	Location      string         `json:"location,omitempty"`
	UnitOfMeasure *unitOfMeasure `json:"unitOfMeasure,omitempty"`
}

type meterValue struct {
	Timestamp    string `json:"timestamp"`
	SampledValue any    `json:"sampledValue"`
}

// meterValue turns a sample into the version's MeterValue. energyOnly (transaction begin/end)
// keeps the register and the SoC.
func (s *Station) meterValue(smp Sample, ts, context string, energyOnly bool) meterValue {
	type q struct{ value, measurand, location, unit string }
	vals := []q{{strconv.FormatInt(smp.EnergyWh, 10), "Energy.Active.Import.Register", "Outlet", "Wh"}}
	if !energyOnly {
		vals = append(vals,
			q{strconv.FormatInt(smp.PowerW, 10), "Power.Active.Import", "Outlet", "W"},
			q{deci(smp.CurrentDA), "Current.Import", "Outlet", "A"},
			q{strconv.FormatInt(smp.VoltageV, 10), "Voltage", "Outlet", "V"})
	}
	if smp.HasSoC {
		vals = append(vals, q{strconv.FormatInt(smp.SoCPercent, 10), "SoC", "EV", "Percent"})
	}
	if s.ver == ocppj.V16 {
		out := make([]sampledValue16, len(vals))
		for i, v := range vals {
			out[i] = sampledValue16{Value: v.value, Context: context, Measurand: v.measurand, Location: v.location, Unit: v.unit}
		}
		return meterValue{Timestamp: ts, SampledValue: out}
	}
	out := make([]sampledValue2, len(vals))
	for i, v := range vals {
		out[i] = sampledValue2{Value: json.Number(v.value), Context: context, Measurand: v.measurand, Location: v.location, UnitOfMeasure: &unitOfMeasure{v.unit}}
	}
	return meterValue{Timestamp: ts, SampledValue: out}
}

func (s *Station) meterValues(smp Sample, ts, context string, energyOnly bool) []any {
	return []any{s.meterValue(smp, ts, context, energyOnly)}
}
