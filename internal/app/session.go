package app

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store"
)

// StartInput is an OCPP 1.6 StartTransaction, version-neutral.
type StartInput struct {
	StationID     string
	EVSENo        int // 1.6 connectorId
	IdToken       string
	MeterStart    int64
	At            time.Time
	ReservationID *int
}

// StartSession opens a session for a 1.6 StartTransaction and returns it with the token's
// authorization. A replay of the same StartTransaction (same connector, token, time and meter)
// returns the session it created the first time.
func (a *App) StartSession(ctx context.Context, in StartInput) (*charging.Session, charging.AuthResult, error) {
	key := fmt.Sprintf("%d|%s|%d|%d", in.EVSENo, in.IdToken, in.At.UnixMilli(), in.MeterStart)
	var out *charging.Session
	var auth charging.AuthResult
	ref := store.SessionRef{StationID: in.StationID, StartKey: in.StationID + "|" + key, IdToken: in.IdToken}
	err := a.Batch.DoSession(ctx, ref, func(tx store.Tx) error {
		out = nil
		var err error
		if auth, err = a.authorizeIn(ctx, tx, in.IdToken, true); err != nil {
			return err
		}
		if s, err := tx.SessionByStartKey(ctx, in.StationID, ref.StartKey); err == nil {
			out = s
			return nil
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		no, err := tx.NextTransactionNo(ctx)
		if err != nil {
			return err
		}
		s := a.newSession(in.StationID, in.EVSENo, strconv.FormatInt(no, 10), in.IdToken, in.At, auth)
		s.TxNo, s.StartKey, s.MeterStart, s.ReservationID = no, ref.StartKey, in.MeterStart, in.ReservationID
		if err := a.startBilling(ctx, tx, s); err != nil {
			return err
		}
		if err := tx.Sessions().Create(ctx, s); err != nil {
			return err
		}
		out = s
		return tx.AddReadings(ctx, []charging.Reading{{SessionID: s.ID, StationID: s.StationID, EVSENo: s.EVSENo, At: in.At,
			Measurand: charging.EnergyImport, Context: "Transaction.Begin", Unit: "Wh", Milli: in.MeterStart * 1000}})
	})
	if err != nil {
		return nil, auth, errs.Wrap("start session", err)
	}
	a.Bus.Publish(Event{Kind: "session.started", StationID: in.StationID, Data: out})
	return out, auth, nil
}

// startKey is stored as "station|key"; the unique index is (station_id, start_key).

func (a *App) newSession(stationID string, evse int, txRef, token string, at time.Time, auth charging.AuthResult) *charging.Session {
	return &charging.Session{ID: ids.New("ses"), StationID: stationID, EVSENo: evse, TxRef: txRef, IdToken: token,
		AccountID: auth.AccountID, Kind: charging.KindCharge, Status: charging.Active, AuthStatus: auth.Status,
		StartedAt: at, UpdatedAt: a.now()}
}

// MeterInput is a batch of meter readings from a station, for a transaction or not.
type MeterInput struct {
	StationID string
	EVSENo    int
	TxRef     string // "" for readings outside a transaction
	Readings  []charging.Reading
}

// MeterValues stores readings and folds them into their session.
func (a *App) MeterValues(ctx context.Context, in MeterInput) error {
	var s *charging.Session
	stop := false
	err := a.Batch.DoSession(ctx, store.SessionRef{StationID: in.StationID, TxRef: in.TxRef}, func(tx store.Tx) error {
		s, stop = nil, false
		sid := ""
		if in.TxRef != "" {
			found, err := findSession(ctx, tx, in.StationID, in.TxRef)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
			if found != nil {
				cp := *found
				s = &cp
				sid = s.ID
			}
		}
		rs := stamp(in.Readings, sid, in.StationID, in.EVSENo)
		if err := tx.AddReadings(ctx, rs); err != nil {
			return err
		}
		if s == nil || s.Status != charging.Active {
			return nil
		}
		s.Apply(rs)
		s.UpdatedAt = a.now()
		var err error
		if stop, err = a.creditExhausted(ctx, tx, s, lastAt(rs, s.UpdatedAt)); err != nil {
			return err
		}
		s.StopRequested = s.StopRequested || stop
		return tx.Sessions().Update(ctx, s)
	})
	if err != nil {
		return errs.Wrap("meter values", err)
	}
	if s != nil {
		a.Bus.Publish(Event{Kind: "session.updated", StationID: in.StationID, Data: s})
	}
	if stop {
		go a.stopForCredit(s)
	}
	return nil
}

// lastAt is the time of the latest reading, or def.
func lastAt(rs []charging.Reading, def time.Time) time.Time {
	var t time.Time
	for _, r := range rs {
		if r.At.After(t) {
			t = r.At
		}
	}
	if t.IsZero() {
		return def
	}
	return t
}

func stamp(rs []charging.Reading, sessionID, stationID string, evse int) []charging.Reading {
	out := make([]charging.Reading, len(rs))
	for i, r := range rs {
		r.SessionID, r.StationID = sessionID, stationID
		if r.EVSENo == 0 {
			r.EVSENo = evse
		}
		out[i] = r
	}
	return out
}

func findSession(ctx context.Context, tx store.Tx, stationID, txRef string) (*charging.Session, error) {
	return tx.SessionByTx(ctx, stationID, txRef)
}

// StopInput is an OCPP 1.6 StopTransaction, version-neutral.
type StopInput struct {
	StationID string
	TxRef     string
	MeterStop int64
	At        time.Time
	Reason    string
	IdToken   string
	Readings  []charging.Reading
}

// StopSession ends a session. Stopping a session that already ended changes nothing (a
// replayed StopTransaction never bills twice). An unknown transaction is recorded as a station
// event and answered normally, as OCPP asks.
func (a *App) StopSession(ctx context.Context, in StopInput) (*charging.Session, *charging.AuthResult, error) {
	var out *charging.Session
	var auth *charging.AuthResult
	ended := false
	stop := func(tx store.Tx) error {
		s, err := findSession(ctx, tx, in.StationID, in.TxRef)
		if errs.Is(err, errs.NotFound) {
			return tx.Events().Create(ctx, &charging.StationEvent{ID: ids.New("evt"), StationID: in.StationID, Kind: "UnknownStopTransaction", At: a.now(),
				Payload: []byte(fmt.Sprintf(`{"transaction_id":%q,"meter_stop":%d}`, in.TxRef, in.MeterStop))})
		}
		if err != nil {
			return err
		}
		cp := *s
		out = &cp
		if s.Status != charging.Active {
			return nil
		}
		rs := stopReadings(stamp(in.Readings, s.ID, s.StationID, s.EVSENo), s, in)
		if err := tx.AddReadings(ctx, rs); err != nil {
			return err
		}
		out.Apply(rs)
		ms := in.MeterStop
		out.Finish(&ms, in.At, in.Reason)
		out.UpdatedAt = a.now()
		if err := a.endSession(ctx, tx, out); err != nil {
			return err
		}
		ended = true
		return nil
	}
	err := a.Batch.DoSession(ctx, store.SessionRef{StationID: in.StationID, TxRef: in.TxRef, Ending: true}, func(tx store.Tx) error {
		out, auth, ended = nil, nil, false
		if err := stop(tx); err != nil || in.IdToken == "" {
			return err
		}
		// The token's status for the answer is read in the stop's own transaction, after
		// the session is paid for, so it counts that payment (the account is locked by then:
		// no extra look-up). A read transaction of its own after the commit did the same, but
		// on SQLite readers slow the single writer: without that read and Authorize's, the
		// load tool's rate rose by 16 %.
		r, err := a.authorizeTx(ctx, tx, in.IdToken)
		if err != nil {
			return err
		}
		auth = &r
		return nil
	})
	if err != nil {
		return nil, nil, errs.Wrap("stop session", err)
	}
	if ended {
		a.Bus.Publish(Event{Kind: "session.ended", StationID: in.StationID, Data: out})
	}
	return out, auth, nil
}

// stopReadings keeps a 1.6 StopTransaction's transactionData, less the start register EVCS
// already recorded from StartTransaction, and adds the meterStop register unless the station
// sent it as a Transaction.End reading.
func stopReadings(rs []charging.Reading, s *charging.Session, in StopInput) []charging.Reading {
	out := rs[:0]
	hasEnd := false
	for _, r := range rs {
		whole := r.Measurand == charging.EnergyImport && r.Phase == ""
		if whole && r.Context == "Transaction.Begin" {
			continue
		}
		hasEnd = hasEnd || (whole && r.Context == "Transaction.End")
		out = append(out, r)
	}
	if !hasEnd {
		out = append(out, charging.Reading{SessionID: s.ID, StationID: s.StationID, EVSENo: s.EVSENo, At: in.At,
			Measurand: charging.EnergyImport, Context: "Transaction.End", Unit: "Wh", Milli: in.MeterStop * 1000})
	}
	return out
}

// endSession stores an ended session and runs the SessionEnded hooks in the same transaction.
func (a *App) endSession(ctx context.Context, tx store.Tx, s *charging.Session) error {
	if err := a.endBilling(ctx, tx, s); err != nil {
		return err
	}
	if err := tx.Sessions().Update(ctx, s); err != nil {
		return err
	}
	for _, h := range a.SessionEnded {
		if err := h(ctx, tx, s); err != nil {
			return err
		}
	}
	return nil
}

// TxEvent is an OCPP 2.x TransactionEvent, version-neutral.
type TxEvent struct {
	StationID     string
	Type          string // Started, Updated, Ended
	TxRef         string
	SeqNo         int
	At            time.Time
	Trigger       string
	ChargingState string
	EVSENo        int
	ConnectorNo   int
	IdToken       string
	Readings      []charging.Reading
	StoppedReason string
	Offline       bool
	ReservationID *int
}

// TransactionEvent applies a 2.x transaction event. Events may come late, out of order
// (offline queues) or twice: a seqNo seen before changes nothing, an Updated or Ended for an
// unknown transaction opens it, and an ended session is never reopened.
func (a *App) TransactionEvent(ctx context.Context, e TxEvent) (*charging.Session, *charging.AuthResult, error) {
	var out *charging.Session
	var auth *charging.AuthResult
	kind := ""
	stop := false
	ref := store.SessionRef{StationID: e.StationID, TxRef: e.TxRef, Ending: e.Type == "Ended"}
	if e.Type == "Started" {
		// A start bills the token's account (startBilling locks it): the batch locks it with
		// the others', in one statement and one order, and authorizing reads its balance
		// from that lock.
		ref.IdToken = e.IdToken
	}
	err := a.Batch.DoSession(ctx, ref, func(tx store.Tx) error {
		out, auth, kind, stop = nil, nil, "", false
		if e.IdToken != "" {
			r, err := a.authorizeTx(ctx, tx, e.IdToken)
			if err != nil {
				return err
			}
			auth = &r
		}
		s, err := findSession(ctx, tx, e.StationID, e.TxRef)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		create := s == nil
		if create {
			r := charging.AuthResult{Status: account.AuthUnknown}
			if auth != nil {
				r = *auth
			}
			s = a.newSession(e.StationID, e.EVSENo, e.TxRef, e.IdToken, e.At, r)
			kind = "session.started"
		} else {
			cp := *s
			s = &cp
		}
		if !s.SeqSeen.Add(e.SeqNo) {
			out = s
			return nil // a replay: already applied
		}
		if e.Offline {
			s.Offline = true
		}
		if e.Type == "Started" && !create && e.At.Before(s.StartedAt) {
			s.StartedAt = e.At // the real start arrived after a later event
		}
		lateToken := false
		if s.IdToken == "" && e.IdToken != "" && auth != nil {
			s.IdToken, s.AccountID, s.AuthStatus = e.IdToken, auth.AccountID, auth.Status
			lateToken = !create
		}
		if s.EVSENo == 0 {
			s.EVSENo = e.EVSENo
		}
		if e.ConnectorNo != 0 {
			s.ConnectorNo = e.ConnectorNo
		}
		if e.ChargingState != "" {
			s.ChargingState = e.ChargingState
		}
		if e.ReservationID != nil {
			s.ReservationID = e.ReservationID
		}
		rs := stamp(e.Readings, s.ID, s.StationID, s.EVSENo)
		meterStart(s, rs)
		s.UpdatedAt = a.now()
		if err := tx.AddReadings(ctx, rs); err != nil {
			return err
		}
		if s.Status == charging.Active {
			s.Apply(rs)
		}
		out = s
		if create || (lateToken && s.TariffID == "") {
			if err := a.startBilling(ctx, tx, s); err != nil {
				return err
			}
		}
		if create {
			if err := tx.Sessions().Create(ctx, s); err != nil {
				return err
			}
		}
		if e.Type == "Ended" && s.Status == charging.Active {
			s.Finish(endRegister(rs), e.At, e.StoppedReason)
			kind = "session.ended"
			return a.endSession(ctx, tx, s)
		}
		if kind == "" {
			kind = "session.updated"
		}
		var err2 error
		if stop, err2 = a.creditExhausted(ctx, tx, s, lastAt(rs, e.At)); err2 != nil {
			return err2
		}
		s.StopRequested = s.StopRequested || stop
		return tx.Sessions().Update(ctx, s)
	})
	if err != nil {
		return nil, nil, errs.Wrap("transaction event", err)
	}
	if kind != "" {
		a.Bus.Publish(Event{Kind: kind, StationID: e.StationID, Data: out})
	}
	if stop {
		go a.stopForCredit(out)
	}
	return out, auth, nil
}

// meterStart takes the session's start register from a Transaction.Begin reading, or the
// first register seen.
func meterStart(s *charging.Session, rs []charging.Reading) {
	for _, r := range rs {
		if r.Measurand != charging.EnergyImport || r.Phase != "" {
			continue
		}
		wh := r.Milli / 1000
		if r.Context == "Transaction.Begin" || (s.MeterStart == 0 && s.EnergyWh == 0) {
			if s.MeterStart == 0 || r.Context == "Transaction.Begin" {
				s.MeterStart = wh
			}
		}
	}
}

// endRegister returns the Transaction.End import register of an Ended event, if any.
func endRegister(rs []charging.Reading) *int64 {
	for _, r := range rs {
		if r.Measurand == charging.EnergyImport && r.Phase == "" && r.Context == "Transaction.End" {
			v := r.Milli / 1000
			return &v
		}
	}
	return nil
}
