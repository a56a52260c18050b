package sim

import (
	"context"
	"errors"
	"sync"
	"time"
)

// loadLoop is the closed loop of load mode: one call in flight per station, each step waiting
// for the CSMS's answer before the next: Heartbeat, Authorize, start, 3 × meter values, stop,
// repeat. Round trips are measured by the station's calls (see Stats). While offline it waits
// for the next boot instead of piling up queued transactions.
func (s *Station) loadLoop(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		if s.WaitOnline(ctx) != nil {
			return
		}
		evse := 1 + i%len(s.evses)
		if tx := s.currentTx(evse); tx != nil { // e.g. a remote start of the CSMS
			continue
		}
		s.Heartbeat(ctx)
		if st, err := s.Authorize(ctx, s.cfg.Tag); err != nil || st != "Accepted" {
			continue
		}
		if _, err := s.StartCharging(ctx, evse, s.cfg.Tag); err != nil && !errors.Is(err, ErrOffline) {
			continue
		}
		for range 3 {
			if _, err := s.SendMeterValues(ctx, evse); errors.Is(err, ErrNoTransaction) {
				break
			}
		}
		s.StopCharging(ctx, evse, "Local")
	}
}

// sessionLoop runs, on every EVSE, realistic sessions one after another: idle 1–4 meter
// intervals, authorize, charge 5–30 meter intervals (or until the car is full), stop.
func (s *Station) sessionLoop(ctx context.Context) {
	var wg sync.WaitGroup
	for _, e := range s.evses {
		wg.Add(1)
		go func(evse int) {
			defer wg.Done()
			s.evseSessions(ctx, evse)
		}(e.ID)
	}
	wg.Wait()
}

func (s *Station) randN(n int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Int64N(n)
}

func (s *Station) evseSessions(ctx context.Context, evse int) {
	if s.WaitOnline(ctx) != nil {
		return
	}
	for {
		if !sleepCtx(ctx, s.cfg.MeterInterval*time.Duration(1+s.randN(4))) {
			return
		}
		s.mu.Lock()
		e := s.evses[evse-1]
		busy := e.tx != nil || e.claimed || e.unavailable || e.reserved != 0
		online := s.booted
		s.mu.Unlock()
		if busy {
			continue
		}
		if online {
			if st, err := s.Authorize(ctx, s.cfg.Tag); err == nil && st != "Accepted" {
				continue
			}
		}
		if _, err := s.StartCharging(ctx, evse, s.cfg.Tag); err != nil && !errors.Is(err, ErrOffline) {
			continue
		}
		tx := s.currentTx(evse)
		if tx == nil {
			continue
		}
		reason := "Local"
		for n := 5 + s.randN(26); n > 0; n-- {
			if !sleepCtx(ctx, s.cfg.MeterInterval) {
				return
			}
			if s.currentTx(evse) != tx {
				break
			}
			smp, err := s.SendMeterValues(ctx, evse)
			if errors.Is(err, ErrNoTransaction) {
				break
			}
			if smp.Full {
				reason = "EVDisconnected"
				break
			}
		}
		s.stopIf(ctx, evse, tx, reason)
	}
}
