package sim

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/v21"
)

// reply is a handler's answer: the CALLRESULT payload and, optionally, work that must run after
// the reply is on the wire and may itself send CALLs (so it gets its own goroutine).
type reply struct {
	payload any
	follow  func(ctx context.Context)
}

type handler func(s *Station, p json.RawMessage) (reply, *ocppj.Error)

func status(st string) reply { return reply{payload: map[string]string{"status": st}} }

func validateRequest(v ocppj.Version, action string, p []byte) *ocppj.Error {
	switch v {
	case ocppj.V16:
		return v16.ValidateRequest(action, p)
	case ocppj.V201:
		return v201.ValidateRequest(action, p)
	}
	return v21.ValidateRequest(action, p)
}

func validateResponse(v ocppj.Version, action string, p []byte) *ocppj.Error {
	switch v {
	case ocppj.V16:
		return v16.ValidateResponse(action, p)
	case ocppj.V201:
		return v201.ValidateResponse(action, p)
	}
	return v21.ValidateResponse(action, p)
}

// handleCall answers a CALL from the CSMS on the read goroutine. Handlers only look at and
// change state; anything that sends a CALL runs as a follow-up after the reply.
func (s *Station) handleCall(c *conn, m ocppj.Message) {
	if verr := validateRequest(s.ver, m.Action, m.Payload); verr != nil {
		c.write(ocppj.AppendError(nil, m.ID, verr.Kind.Code(s.ver), verr.Msg, nil))
		return
	}
	table := handlers2
	if s.ver == ocppj.V16 {
		table = handlers16
	}
	h := table[m.Action]
	if h == nil {
		c.write(ocppj.AppendError(nil, m.ID, ocppj.NotImplemented.Code(s.ver), m.Action+" is not implemented by the simulator", nil))
		return
	}
	r, herr := h(s, m.Payload)
	if herr != nil {
		c.write(ocppj.AppendError(nil, m.ID, herr.Kind.Code(s.ver), herr.Msg, nil))
		return
	}
	b, err := json.Marshal(r.payload)
	if err != nil {
		c.write(ocppj.AppendError(nil, m.ID, ocppj.InternalError.Code(s.ver), err.Error(), nil))
		return
	}
	if err := c.write(ocppj.AppendResult(nil, m.ID, b)); err != nil {
		return
	}
	if r.follow != nil {
		s.spawn(r.follow)
	}
}

// spawn runs f in its own goroutine until the station closes.
func (s *Station) spawn(f func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f(s.bgCtx)
	}()
}

func decode(p json.RawMessage, v any) *ocppj.Error {
	if err := json.Unmarshal(p, v); err != nil {
		return ocppj.Errorf(ocppj.TypeConstraintViolation, "%v", err)
	}
	return nil
}

// pickEVSELocked returns the EVSE a remote start may use: the one asked for, or the first free
// one; nil when it is busy, unavailable or does not exist.
func (s *Station) pickEVSELocked(id *int, tag string) *EVSE {
	free := func(e *EVSE) bool {
		return e.tx == nil && !e.claimed && !e.unavailable && (e.reserved == 0 || tag != "")
	}
	if id != nil {
		if *id < 1 || *id > len(s.evses) || !free(s.evses[*id-1]) {
			return nil
		}
		return s.evses[*id-1]
	}
	for _, e := range s.evses {
		if free(e) && e.reserved == 0 {
			return e
		}
	}
	return nil
}

// remoteSession runs a remotely started session: start, then a meter value every
// MeterInterval until the transaction is stopped (by the CSMS, a reset, …) or the car is full.
func (s *Station) remoteSession(ctx context.Context, evse int, tag string, remoteStartID *int) {
	_, err := s.start(ctx, evse, tag, remoteStartID)
	s.mu.Lock()
	e := s.evses[evse-1]
	e.claimed = false
	tx := e.tx
	s.mu.Unlock()
	if tx == nil || (err != nil && !errors.Is(err, ErrOffline)) {
		return
	}
	s.chargeLoop(ctx, evse, tx)
}

// chargeLoop sends meter values for tx every MeterInterval while tx runs; a full battery ends
// it (EVDisconnected).
func (s *Station) chargeLoop(ctx context.Context, evse int, tx *Transaction) {
	t := time.NewTicker(s.cfg.MeterInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.currentTx(evse) != tx {
			return
		}
		smp, err := s.SendMeterValues(ctx, evse)
		if errors.Is(err, ErrNoTransaction) {
			return
		}
		if smp.Full {
			s.stopIf(ctx, evse, tx, "EVDisconnected")
			return
		}
	}
}

func (s *Station) currentTx(evse int) *Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evses[evse-1].tx
}

// stopIf stops evse's transaction if it is still tx.
func (s *Station) stopIf(ctx context.Context, evse int, tx *Transaction, reason string) {
	e := s.evses[evse-1]
	e.op.Lock()
	defer e.op.Unlock()
	if s.currentTx(evse) == tx {
		s.stop(ctx, e, reason)
	}
}

// stopAll ends every transaction (resets).
func (s *Station) stopAll(ctx context.Context, reason string) {
	for _, e := range s.evses {
		if tx := s.currentTx(e.ID); tx != nil {
			s.stopIf(ctx, e.ID, tx, reason)
		}
	}
}

func (s *Station) findTxLocked(match func(*Transaction) bool) (*EVSE, *Transaction) {
	for _, e := range s.evses {
		if e.tx != nil && match(e.tx) {
			return e, e.tx
		}
	}
	return nil, nil
}

// reboot is the follow-up of an accepted reset: end the sessions, then let the supervisor
// reconnect and boot again (no effect when the station is driven step by step).
func (s *Station) reboot(reason string) func(ctx context.Context) {
	return func(ctx context.Context) {
		s.stopAll(ctx, reason)
		s.mu.Lock()
		s.bootReason = "RemoteReset"
		s.mu.Unlock()
		s.kick(s.rebootCh)
	}
}

// setAvailability implements ChangeAvailability for evse (0 = all); it reports whether a
// busy EVSE makes the change Scheduled, and which statuses to send.
func (s *Station) setAvailabilityLocked(evse int, operative bool) (scheduled bool, changed []int) {
	for _, e := range s.evses {
		if evse != 0 && e.ID != evse {
			continue
		}
		e.unavailable = !operative
		if e.tx != nil {
			if !operative {
				scheduled = true
			}
			continue
		}
		st := "Available"
		if !operative {
			st = "Unavailable"
		} else if e.reserved != 0 {
			st = "Reserved"
		}
		if e.status != st {
			e.status = st
			changed = append(changed, e.ID)
		}
	}
	return scheduled, changed
}

func (s *Station) sendStatuses(ids []int) func(ctx context.Context) {
	return func(ctx context.Context) {
		for _, id := range ids {
			s.sendStatusQuiet(ctx, id, s.Status(id))
		}
	}
}

// chargingProfile is what the simulator keeps of a profile: enough to cap the power.
type chargingProfile struct {
	id, evse, stackLevel int
	purpose, unit        string
	limit                float64
	txID                 string
}

// applyLimitsLocked caps each EVSE's power as OCPP composes profiles: a TxProfile (of the
// running transaction) replaces the TxDefaultProfile, the highest stack level of a purpose
// wins (an EVSE's own profile before a station-wide one), and the station maximum caps both.
func (s *Station) applyLimitsLocked() {
	for _, e := range s.evses {
		pick := func(match func(purpose string) bool) (int64, bool) {
			best, found, bestRank := int64(0), false, -1
			for _, p := range s.profiles {
				if (p.evse != 0 && p.evse != e.ID) || !match(p.purpose) {
					continue
				}
				if p.txID != "" && (e.tx == nil || (p.txID != e.tx.id && p.txID != strconv.Itoa(e.tx.csmsID))) {
					continue // a TxProfile for another transaction
				}
				rank := p.stackLevel * 2
				if p.evse != 0 {
					rank++ // the EVSE's own profile before the station-wide one
				}
				if w := e.meter.LimitToW(p.limit, p.unit); w > 0 && rank > bestRank {
					best, found, bestRank = w, true, rank
				}
			}
			return best, found
		}
		isMax := func(pu string) bool { return pu == "ChargePointMaxProfile" || pu == "ChargingStationMaxProfile" }
		lim, ok := pick(func(pu string) bool { return pu == "TxProfile" })
		if !ok || e.tx == nil {
			lim, _ = pick(func(pu string) bool { return pu == "TxDefaultProfile" })
		}
		if maxW, ok := pick(isMax); ok && (lim == 0 || maxW < lim) {
			lim = maxW
		}
		e.meter.LimitW = lim
	}
}

func (s *Station) setProfileLocked(p chargingProfile) {
	out := s.profiles[:0]
	for _, q := range s.profiles {
		if q.id != p.id {
			out = append(out, q)
		}
	}
	s.profiles = append(out, p)
	s.applyLimitsLocked()
}

// clearProfilesLocked removes the profiles match accepts and reports whether there were any.
func (s *Station) clearProfilesLocked(match func(chargingProfile) bool) bool {
	out := s.profiles[:0]
	removed := false
	for _, q := range s.profiles {
		if match(q) {
			removed = true
		} else {
			out = append(out, q)
		}
	}
	s.profiles = out
	s.applyLimitsLocked()
	return removed
}

// compositeLimitLocked is the power an EVSE (0 = station) may draw now, in unit.
func (s *Station) compositeLimitLocked(evse int, unit string) float64 {
	if unit == "" {
		unit = "W"
	}
	if evse == 0 {
		var sum float64
		for _, e := range s.evses {
			sum += s.compositeLimitLocked(e.ID, unit)
		}
		return sum
	}
	m := s.evses[evse-1].meter
	w := m.MaxW
	if m.LimitW > 0 && m.LimitW < w {
		w = m.LimitW
	}
	return m.WToLimit(w, unit)
}

// fileStatus sends a sequence of status notifications (firmware, diagnostics, log uploads).
func (s *Station) fileStatus(action string, statuses []string, extra map[string]any) func(ctx context.Context) {
	return func(ctx context.Context) {
		for _, st := range statuses {
			p := map[string]any{"status": st}
			for k, v := range extra {
				p[k] = v
			}
			if _, err := s.Call(ctx, action, p); err != nil {
				return
			}
		}
	}
}

// sendTriggeredMeterValues sends a non-transaction MeterValues with context Trigger.
func (s *Station) sendTriggeredMeterValues(ctx context.Context, evse int) {
	s.mu.Lock()
	var smp Sample
	if evse == 0 {
		for _, e := range s.evses {
			x := e.meter.Sample()
			smp.EnergyWh += x.EnergyWh
			smp.PowerW += x.PowerW
			smp.VoltageV = x.VoltageV
			smp.CurrentDA += x.CurrentDA
		}
	} else {
		smp = s.evses[evse-1].meter.Sample()
	}
	var txID int
	if evse > 0 && s.evses[evse-1].tx != nil {
		txID = s.evses[evse-1].tx.csmsID
	}
	s.mu.Unlock()
	mv := []any{s.meterValue(smp, now(), "Trigger", false)}
	p := map[string]any{"meterValue": mv}
	if s.ver == ocppj.V16 {
		p["connectorId"] = evse
		if txID != 0 {
			p["transactionId"] = txID
		}
	} else {
		p["evseId"] = evse
	}
	s.Call(ctx, "MeterValues", p)
}

// sendTriggeredBoot answers TriggerMessage(BootNotification): while not yet accepted it cuts
// the retry wait short; once accepted it sends one more BootNotification.
func (s *Station) sendTriggeredBoot(ctx context.Context) {
	s.mu.Lock()
	booted := s.booted
	s.mu.Unlock()
	if !booted {
		s.kick(s.bootNow)
		return
	}
	c := s.ready()
	if c == nil {
		return
	}
	c.call(ctx, s.newMsgID(), "BootNotification", s.bootPayload("Triggered"))
}
