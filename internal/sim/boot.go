package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// BootResult is the CSMS's answer to the BootNotification that was finally accepted.
type BootResult struct {
	Status      string // Accepted (Boot returns only then)
	Interval    int    // heartbeat interval in seconds
	CurrentTime string
	Attempts    int // BootNotifications sent, counting Pending/Rejected ones
}

// Boot sends BootNotification until the CSMS accepts it. Pending and Rejected are retried
// after the interval the CSMS gave (10 s when it gave none), or at once when the CSMS triggers
// a BootNotification. On Accepted the heartbeat interval is taken over and the station is
// online: queued transaction messages may flow (see Flush).
func (s *Station) Boot(ctx context.Context) (BootResult, error) {
	s.mu.Lock()
	c := s.conn
	reason := s.bootReason
	s.mu.Unlock()
	if c == nil {
		return BootResult{}, ErrOffline
	}
	var res BootResult
	for {
		res.Attempts++
		resp, err := c.call(ctx, s.newMsgID(), "BootNotification", s.bootPayload(reason))
		if err != nil {
			return res, err
		}
		var r struct {
			Status      string `json:"status"`
			Interval    int    `json:"interval"`
			CurrentTime string `json:"currentTime"`
		}
		if err := json.Unmarshal(resp, &r); err != nil {
			return res, fmt.Errorf("sim: %s: BootNotification reply: %w", s.id, err)
		}
		res.Status, res.Interval, res.CurrentTime = r.Status, r.Interval, r.CurrentTime
		if r.Status == "Accepted" {
			s.mu.Lock()
			if r.Interval > 0 {
				s.hbEvery = time.Duration(r.Interval) * time.Second
				s.setVarLocked("HeartbeatInterval", fmt.Sprint(r.Interval))
			}
			if s.conn == c && !s.booted {
				s.booted = true
				close(s.online)
			}
			first := !s.everBooted
			s.everBooted = true
			s.bootReason = "PowerUp"
			s.mu.Unlock()
			if first && s.stats != nil {
				s.stats.connected.Add(1)
			}
			s.kick(s.hbCh)
			return res, nil
		}
		wait := time.Duration(r.Interval) * time.Second
		if wait <= 0 {
			wait = 10 * time.Second
		}
		s.log.Info("boot not accepted, retrying", "status", r.Status, "after", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.bootNow:
			t.Stop()
		case <-c.done:
			t.Stop()
			return res, ErrOffline
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		}
	}
}

func (s *Station) bootPayload(reason string) []byte {
	var v any
	if s.ver == ocppj.V16 {
		v = map[string]string{
			"chargePointVendor": s.cfg.Vendor, "chargePointModel": s.cfg.Model,
			"chargePointSerialNumber": s.id, "firmwareVersion": s.cfg.Firmware,
			"meterType": "SimMeter", "meterSerialNumber": s.id + "-M",
		}
	} else {
		v = map[string]any{
			"reason": reason,
			"chargingStation": map[string]string{
				"vendorName": s.cfg.Vendor, "model": s.cfg.Model,
				"serialNumber": s.id, "firmwareVersion": s.cfg.Firmware,
			},
		}
	}
	b, _ := json.Marshal(v)
	return b
}

// kick wakes a goroutine waiting on ch without ever blocking.
func (s *Station) kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Heartbeat sends a Heartbeat and returns the CSMS's currentTime.
func (s *Station) Heartbeat(ctx context.Context) (string, error) {
	resp, err := s.Call(ctx, "Heartbeat", struct{}{})
	if err != nil {
		return "", err
	}
	var r struct {
		CurrentTime string `json:"currentTime"`
	}
	err = json.Unmarshal(resp, &r)
	return r.CurrentTime, err
}

// SendStatus sends the StatusNotification of an EVSE (1.6 connector; 0 = the whole station in
// 1.6). status uses the 1.6 names (Available, Preparing, Charging, SuspendedEV, Finishing,
// Reserved, Unavailable, Faulted); 2.x gets its connectorStatus (Preparing…Finishing →
// Occupied). Status messages are not queued while offline.
func (s *Station) SendStatus(ctx context.Context, evse int, status string) error {
	var v any
	if s.ver == ocppj.V16 {
		v = map[string]any{"connectorId": evse, "errorCode": "NoError", "status": status, "timestamp": now()}
	} else {
		if evse == 0 {
			return nil // 2.x reports per EVSE only
		}
		v = map[string]any{"timestamp": now(), "connectorStatus": status201(status), "evseId": evse, "connectorId": 1}
	}
	_, err := s.Call(ctx, "StatusNotification", v)
	return err
}

func status201(st string) string {
	switch st {
	case "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing":
		return "Occupied"
	}
	return st
}

// SendStatusAll reports every connector's current status (1.6: connector 0 first).
func (s *Station) SendStatusAll(ctx context.Context) error {
	if s.ver == ocppj.V16 {
		if err := s.SendStatus(ctx, 0, s.stationStatus()); err != nil {
			return err
		}
	}
	for _, e := range s.evses {
		if err := s.SendStatus(ctx, e.ID, s.evseStatus(e)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Station) stationStatus() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.evses {
		if !e.unavailable {
			return "Available"
		}
	}
	return "Unavailable"
}

func (s *Station) evseStatus(e *EVSE) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return e.status
}

// Run keeps the station alive until ctx ends or Close is called: connect (exponential backoff
// with jitter, capped), boot, report statuses, replay queued transaction messages, send
// heartbeats, and after a drop start over. Alongside, it charges by itself when cfg.Sessions
// is set, or runs the load loop when cfg.Load is set.
func (s *Station) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		switch {
		case s.cfg.Load:
			s.loadLoop(ctx)
		case s.cfg.Sessions:
			s.sessionLoop(ctx)
		}
	}()
	s.supervise(ctx)
	cancel()
	<-done
	return s.Close()
}

func (s *Station) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Station) supervise(ctx context.Context) {
	backoff := s.cfg.BackoffMin
	for ctx.Err() == nil && !s.isClosed() {
		err := s.Connect(ctx)
		if err == nil {
			var reboot, booted bool
			reboot, booted, err = s.serveConn(ctx)
			if booted {
				backoff = s.cfg.BackoffMin
			}
			if reboot {
				continue
			}
		}
		if ctx.Err() != nil || s.isClosed() {
			return
		}
		if err != nil {
			s.stats.fail()
			s.mu.Lock()
			s.lastErr = err
			s.mu.Unlock()
			s.log.Info("connection lost or refused", "err", err, "retry_in", backoff)
		}
		if !sleepCtx(ctx, s.jitter(backoff)) {
			return
		}
		backoff = min(backoff*2, s.cfg.BackoffMax)
	}
}

// jitter spreads reconnects of many stations: a delay in [d/2, d].
func (s *Station) jitter(d time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return d/2 + time.Duration(s.rng.Int64N(int64(d/2)+1))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serveConn runs one connection: boot, statuses, replay, then heartbeats until it drops, ctx
// ends or a Reset asks for a reboot.
func (s *Station) serveConn(ctx context.Context) (reboot, booted bool, err error) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return false, false, ErrOffline
	}
	defer func() {
		if reboot || ctx.Err() != nil {
			c.close(websocket.StatusNormalClosure, "")
		} else {
			c.close(websocket.StatusGoingAway, "")
		}
		<-c.done
	}()
	select { // a reboot asked for before this connection is already done
	case <-s.rebootCh:
	default:
	}
	if _, err := s.Boot(ctx); err != nil {
		return false, false, err
	}
	if err := s.SendStatusAll(ctx); err != nil && !isOffline(err) {
		s.log.Debug("status", "err", err)
	}
	if err := s.Flush(ctx); err != nil && !isOffline(err) {
		s.log.Debug("replay", "err", err)
	}
	for {
		s.mu.Lock()
		every := s.hbEvery
		s.mu.Unlock()
		t := time.NewTimer(every)
		select {
		case <-t.C:
			if _, err := s.Heartbeat(ctx); err != nil && isOffline(err) {
				return false, true, err
			}
		case <-s.hbCh:
		case <-s.rebootCh:
			t.Stop()
			s.mu.Lock()
			s.bootReason = "RemoteReset"
			s.mu.Unlock()
			return true, true, nil
		case <-c.done:
			t.Stop()
			return false, true, errors.Join(ErrOffline, c.err)
		case <-ctx.Done():
			t.Stop()
			return false, true, ctx.Err()
		}
		t.Stop()
	}
}
