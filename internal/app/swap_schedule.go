package app

// The swap charging scheduler: every Interval, on one node, each swap station's slots get a
// plan (swap.Schedule) and each slot the power of the plan's first step as a charging profile.
//
// Inputs, per station: the batteries in its cabinets (a battery's slot is the station's EVSE of
// that number, as BatteryIn reports it), their SoC and capacity; the slot chargers' ratings
// (the EVSE's strongest connector, else SlotW); the swaps of the last HistoryDays for the
// demand forecast; the energy prices of the site's default tariff (time of use, in the site's
// zone); the station's dispatch policy (ready SoC, batteries to keep ready); and the power the
// site can give the slots (LoadManager.SlotHeadroom). Batteries needed for the ready target may
// take the sessions down to their minimum (the load manager admits them first); batteries
// charged only because power is cheap get what is spare now, never a session's share.
//
// Output: the plan, kept in the store (every node's load manager counts the planned batteries
// as demands, App.SwapDemands) and on the bus (EventSwapPlanned); and a TxDefaultProfile on
// each slot's EVSE (the operator command "charging_profile", profile id SwapSlotProfileID,
// stack level 1, above the load manager's failsafe) when its power moved by more than
// ThresholdW. Slots whose power goes down are told first, then the site is re-allocated, then
// slots whose power goes up are told, so the site stays under its limit while they switch.

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/load"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/swap"
)

// SwapScheduleOptions tune the swap charging scheduler. Zero values take the defaults noted.
type SwapScheduleOptions struct {
	// Interval is the time between two runs (default 1m). A station is also planned again
	// soon after it boots or one of its swaps moves a battery.
	Interval time.Duration
	// Step and Horizon shape the plan (defaults 15m and 24h).
	Step, Horizon time.Duration
	// HistoryDays of swaps make the demand forecast (default 7).
	HistoryDays int
	// SlotW is a slot charger's rating when its EVSE gives none (default 11 kW).
	SlotW int64
	// ThresholdW: a slot's limit is pushed again only when it moved by more than this
	// (default 500 W).
	ThresholdW int64
	// Timeout bounds one push to a station (default 15s).
	Timeout time.Duration
	// Debounce coalesces the events that ask for a station to be planned again (default 500ms).
	Debounce time.Duration
}

func (o SwapScheduleOptions) withDefaults() SwapScheduleOptions {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Step <= 0 {
		o.Step = 15 * time.Minute
	}
	if o.Horizon < o.Step {
		o.Horizon = 24 * time.Hour
	}
	if o.HistoryDays <= 0 {
		o.HistoryDays = 7
	}
	if o.SlotW <= 0 {
		o.SlotW = 11_000
	}
	if o.ThresholdW <= 0 {
		o.ThresholdW = 500
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Debounce <= 0 {
		o.Debounce = 500 * time.Millisecond
	}
	return o
}

// EventSwapPlanned is published after a swap station's slots were planned (Data
// *swap.StationPlan, with the limits the station accepted).
const EventSwapPlanned = "swap.planned"

// SwapSlotProfileID is the charging profile id of a swap slot's limit (EVSE evse): its own, so
// that it neither replaces the load manager's failsafe profile nor is replaced by it.
func SwapSlotProfileID(evse int) int { return 5_000_000 + evse }

// SwapScheduler runs the swap charging scheduler.
type SwapScheduler struct {
	a   *App
	opt SwapScheduleOptions

	runMu  sync.Mutex               // one run at a time
	mu     sync.Mutex               // guards pushed
	pushed map[string]map[int]int64 // station → slot → the limit the station accepted

	kick   chan string
	cancel context.CancelFunc
	done   chan struct{}
}

var swapSchedulers sync.Map // *App → *SwapScheduler

// SwapScheduler returns the running scheduler, or nil.
func (a *App) SwapScheduler() *SwapScheduler {
	if s, ok := swapSchedulers.Load(a); ok {
		return s.(*SwapScheduler)
	}
	return nil
}

// StartSwapSchedule starts the scheduler (once per App) and returns it. Each run plans only
// on the node that leads the job "swap.schedule".
func (a *App) StartSwapSchedule(opt SwapScheduleOptions) *SwapScheduler {
	s := a.newSwapScheduler(opt)
	if old, loaded := swapSchedulers.LoadOrStore(a, s); loaded {
		return old.(*SwapScheduler)
	}
	ctx, cancel := context.WithCancel(WithActor(context.Background(), System))
	s.cancel, s.done = cancel, make(chan struct{})
	events, unsub := a.Bus.Subscribe(1024)
	go func() {
		defer close(s.done)
		defer unsub()
		s.loop(ctx, events)
	}()
	return s
}

// NewSwapScheduler returns a scheduler that does not run by itself: tests and tools call Run.
func (a *App) NewSwapScheduler(opt SwapScheduleOptions) *SwapScheduler {
	return a.newSwapScheduler(opt)
}

func (a *App) newSwapScheduler(opt SwapScheduleOptions) *SwapScheduler {
	return &SwapScheduler{a: a, opt: opt.withDefaults(), pushed: map[string]map[int]int64{}, kick: make(chan string, 64)}
}

// Stop ends the scheduler and waits for it.
func (s *SwapScheduler) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	swapSchedulers.CompareAndDelete(s.a, s)
}

func (s *SwapScheduler) loop(ctx context.Context, events <-chan Event) {
	tick := time.NewTicker(s.opt.Interval)
	defer tick.Stop()
	pending := map[string]bool{}
	var fire <-chan time.Time
	arm := func() {
		if fire == nil {
			fire = time.After(s.opt.Debounce)
		}
	}
	all := true // the first run plans every station
	arm()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Kind {
			case "station.booted", "station.connected":
				s.forget(ev.StationID) // it may have lost its profiles: tell it again
			case EventSwapCompleted, EventSwapUpdated:
			default:
				continue
			}
			if ev.StationID != "" {
				pending[ev.StationID] = true
				arm()
			}
		case st := <-s.kick:
			pending[st] = true
			arm()
		case <-tick.C:
			all = true
			arm()
		case <-fire:
			fire = nil
			var err error
			if all {
				_, err = s.Run(ctx)
			} else {
				for _, st := range slices.Sorted(maps.Keys(pending)) {
					if _, e := s.RunStation(ctx, st); e != nil && !errs.Is(e, errs.Invalid) && !errs.Is(e, errs.NotFound) {
						err = e
					}
				}
			}
			all = false
			clear(pending)
			if err != nil && ctx.Err() == nil {
				s.a.Log.Warn("swap schedule: run failed", "err", err)
			}
		}
	}
}

// Trigger asks for a station to be planned again soon.
func (s *SwapScheduler) Trigger(stationID string) {
	select {
	case s.kick <- stationID:
	default:
	}
}

func (s *SwapScheduler) forget(stationID string) {
	s.mu.Lock()
	delete(s.pushed, stationID)
	s.mu.Unlock()
}

// Run plans every active swap station and pushes the slots' limits. It does nothing on a node
// that does not lead the job. An error planning one station does not stop the others; the
// first is returned.
func (s *SwapScheduler) Run(ctx context.Context) ([]*swap.StationPlan, error) {
	if !s.a.leads(ctx, "swap.schedule") {
		return nil, nil
	}
	var stations []asset.Station
	if err := s.a.Store.View(ctx, func(tx store.Tx) (err error) {
		stations, err = loadListAll(ctx, tx.Stations(), map[string]string{"kind": asset.KindSwap})
		return err
	}); err != nil {
		return nil, errs.Wrap("swap schedule", err)
	}
	var out []*swap.StationPlan
	var first error
	for _, st := range stations {
		if st.Status == asset.Inactive {
			continue
		}
		p, err := s.RunStation(ctx, st.ID)
		if err != nil {
			s.a.Log.Warn("swap schedule: station not planned", "station", st.ID, "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		out = append(out, p)
	}
	return out, first
}

// RunStation plans one swap station, keeps the plan and pushes the slots' limits (on the
// node that leads the job; elsewhere it returns nil).
func (s *SwapScheduler) RunStation(ctx context.Context, stationID string) (*swap.StationPlan, error) {
	if !s.a.leads(ctx, "swap.schedule") {
		return nil, nil
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	p, err := s.a.planSwapStation(ctx, stationID, s.opt)
	if err != nil {
		return nil, errs.Wrap("swap schedule", err)
	}
	// Down first, then the site re-allocated with the new plan, then up.
	want := map[int]int64{}
	for _, sl := range p.Slots {
		want[sl.EVSENo] += sl.PowerW
	}
	s.mu.Lock()
	pushed := s.pushed[stationID]
	if pushed == nil {
		pushed = map[int]int64{}
		s.pushed[stationID] = pushed
	}
	for evse, w := range pushed {
		if _, ok := want[evse]; !ok && w != 0 {
			want[evse] = 0 // the battery left the slot: stop it
		}
	}
	var down, up []int
	for _, evse := range slices.Sorted(maps.Keys(want)) {
		old, ok := pushed[evse]
		d := want[evse] - old
		switch {
		case ok && d <= s.opt.ThresholdW && -d <= s.opt.ThresholdW:
		case ok && d > 0:
			up = append(up, evse)
		default:
			down = append(down, evse)
		}
	}
	s.mu.Unlock()
	s.push(ctx, stationID, down, want)
	if err := s.save(ctx, p); err != nil {
		return nil, err
	}
	if lm := s.a.LoadManager(); lm != nil {
		if _, err := lm.run(ctx, p.SiteID, false); err != nil && ctx.Err() == nil {
			s.a.Log.Warn("swap schedule: re-allocation failed", "site", p.SiteID, "err", err)
		}
	}
	s.push(ctx, stationID, up, want)
	s.mu.Lock()
	for i := range p.Slots {
		if w, ok := pushed[p.Slots[i].EVSENo]; ok {
			p.Slots[i].PushedW = &w
		}
	}
	s.mu.Unlock()
	if err := s.save(ctx, p); err != nil {
		return nil, err
	}
	s.a.Bus.Publish(Event{Kind: EventSwapPlanned, StationID: stationID, Data: p})
	return p, nil
}

func (s *SwapScheduler) save(ctx context.Context, p *swap.StationPlan) error {
	return errs.Wrap("save swap plan", s.a.Store.InTx(ctx, func(tx store.Tx) error { return tx.Swaps().SavePlan(ctx, p) }))
}

// push sets each slot's limit (the operator command charging_profile) and records what the
// station accepted.
func (s *SwapScheduler) push(ctx context.Context, stationID string, slots []int, want map[int]int64) {
	if len(slots) == 0 || s.a.Commander == nil {
		return
	}
	if _, ok := s.a.Commander.Connected(stationID); !ok {
		return // told when it connects
	}
	level := 1
	for _, evse := range slots {
		lim := float64(want[evse])
		cctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
		cmd, err := s.a.SendCommand(cctx, stationID, CommandRequest{Kind: "charging_profile", EVSENo: evse, Purpose: "TxDefaultProfile",
			ProfileID: SwapSlotProfileID(evse), Limit: &lim, RateUnit: "W", StackLevel: &level})
		cancel()
		if err != nil || cmd.Error != "" {
			s.a.Log.Warn("swap schedule: slot limit not set", "station", stationID, "evse", evse, "limit_w", want[evse], "err", err, "answer", cmdErr(cmd))
			continue
		}
		s.mu.Lock()
		if s.pushed[stationID] != nil {
			s.pushed[stationID][evse] = want[evse]
		}
		s.mu.Unlock()
	}
}

// SwapPlan returns a swap station's last charging plan.
func (a *App) SwapPlan(ctx context.Context, stationID string) (*swap.StationPlan, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, errs.Wrap("swap plan", err)
	}
	var p *swap.StationPlan
	err := a.Store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Stations().Get(ctx, stationID); err != nil {
			return err // an unknown station in a path is not found, not a bad field
		}
		if _, err := swapStation(ctx, tx, stationID); err != nil {
			return err
		}
		var err error
		p, err = tx.Swaps().Plan(ctx, stationID)
		return err
	})
	return p, errs.Wrap("swap plan", err)
}

// SwapDemands are the batteries charging in the swap stations of a site now, as load demands
// (LoadOptions.ExtraDemands): each at its slot's EVSE, at the power of its station's plan for
// this moment, as its minimum and its maximum (the slot was told it). A battery needed for
// the ready target has priority 2, before every session; one charged because power is cheap
// priority 0, after the sessions' minimums.
func (a *App) SwapDemands(ctx context.Context, siteID string) []load.Demand {
	var plans []swap.StationPlan
	if err := a.Store.View(ctx, func(tx store.Tx) (err error) { plans, err = tx.Swaps().SitePlans(ctx, siteID); return }); err != nil {
		a.Log.Warn("swap demands: plans not read", "site", siteID, "err", err)
		return nil
	}
	now := a.Clock.Now()
	var out []load.Demand
	for i := range plans {
		p := &plans[i]
		pw := p.PowerAt(now)
		for _, sl := range p.Slots {
			w := pw[sl.BatteryID]
			if w <= 0 {
				continue
			}
			prio := 0
			if sl.Deadline != nil {
				prio = 2
			}
			out = append(out, load.Demand{ID: "battery:" + sl.BatteryID, Node: evseNodeID(p.StationID, sl.EVSENo), MaxW: w, MinW: w, Priority: prio})
		}
	}
	return out
}

// planSwapStation computes a swap station's plan from the store and the site's headroom.
func (a *App) planSwapStation(ctx context.Context, stationID string, opt SwapScheduleOptions) (*swap.StationPlan, error) {
	now := a.now()
	steps := int(opt.Horizon / opt.Step)
	var (
		st      *asset.Station
		loc     = time.UTC
		bs      []asset.Battery
		ratings = map[int]int64{}
		history map[string][]time.Time
		prices  []decimal.Decimal
	)
	err := a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if st, err = swapStation(ctx, tx, stationID); err != nil {
			return err
		}
		site, err := tx.Sites().Get(ctx, st.SiteID)
		if err != nil {
			return err
		}
		if l, err := time.LoadLocation(site.TimeZone); err == nil {
			loc = l
		}
		if bs, _, err = stationBatteries(ctx, tx, st.ID); err != nil {
			return err
		}
		evses, err := loadListAll(ctx, tx.EVSEs(), map[string]string{"station_id": st.ID})
		if err != nil {
			return err
		}
		conns, err := loadListAll(ctx, tx.Connectors(), map[string]string{"station_id": st.ID})
		if err != nil {
			return err
		}
		for _, e := range evses {
			for _, c := range conns {
				if c.EVSEID == e.ID && c.MaxPowerKW != nil && int64(*c.MaxPowerKW) > ratings[e.EVSENo] {
					ratings[e.EVSENo] = int64(*c.MaxPowerKW)
				}
			}
		}
		if history, err = tx.Swaps().SwapTimes(ctx, st.ID, now.AddDate(0, 0, -opt.HistoryDays)); err != nil {
			return err
		}
		if site.DefaultTariffID != "" {
			if rec, err := tx.Tariffs().Latest(ctx, site.DefaultTariffID); err == nil {
				if t, err := tariffVersion(ctx, tx, rec.ID, rec.Version); err == nil {
					prices = swap.EnergyPrices(*t, now, opt.Step, steps, loc)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	need, spare, err := a.loadView().SlotHeadroom(ctx, stationID)
	if err != nil {
		return nil, err
	}
	pol := a.SwapPolicy(stationID)
	in := swap.PlanInput{Start: now, Step: opt.Step, Steps: steps, Prices: prices, Demand: map[string][]float64{},
		ReadySoC: pol.ReadySoCPct, MinReady: pol.MinReady, TargetSoC: 100}
	p := &swap.StationPlan{StationID: st.ID, SiteID: st.SiteID, ComputedAt: now, Start: now, StepS: int(opt.Step / time.Second), Steps: steps,
		HeadroomW: need, SpareW: spare, ReadySoC: pol.ReadySoCPct}
	var slotSum int64
	for _, b := range bs {
		if b.SlotNo <= 0 || b.VehicleID != "" {
			continue
		}
		maxW := ratings[b.SlotNo]
		if maxW <= 0 {
			maxW = opt.SlotW
		}
		avail := b.Status != asset.Inactive && (b.State == asset.BatteryCharging || b.State == asset.BatteryReady)
		in.Batteries = append(in.Batteries, swap.SlotBattery{ID: b.ID, BatteryType: b.BatteryType, CapacityWh: b.CapacityWh, SoCPct: float64(b.SoCPct),
			MaxChargeW: maxW, Available: avail})
		p.Slots = append(p.Slots, swap.PlannedSlot{BatteryID: b.ID, Serial: b.Serial, BatteryType: b.BatteryType, EVSENo: b.SlotNo,
			SoCPct: float64(b.SoCPct), MaxChargeW: maxW})
		if avail {
			slotSum += maxW
			if _, ok := in.Demand[b.BatteryType]; !ok {
				in.Demand[b.BatteryType] = swap.Forecast(history[b.BatteryType], now, opt.Step, steps, opt.HistoryDays, loc)
			}
		}
	}
	limit := need
	if limit == load.NoLimit {
		limit = slotSum // an unlimited site: the slots' ratings are the only bound
	}
	in.LimitW = slices.Repeat([]int64{limit}, steps)
	plan := swap.Schedule(in)
	capSpare(&plan, spare)
	p.Charges, p.LoadW, p.Short, p.Demand = plan.Charges, plan.LoadW, plan.Short, in.Demand
	now0 := map[string]int64{}
	for _, c := range plan.Charges {
		if c.Step == 0 {
			now0[c.BatteryID] += c.PowerW
		}
	}
	for i := range p.Slots {
		sl := &p.Slots[i]
		if d, ok := plan.Deadlines[sl.BatteryID]; ok {
			sl.Deadline = &d
		}
		sl.PowerW = now0[sl.BatteryID]
	}
	sort.SliceStable(p.Slots, func(i, j int) bool { return p.Slots[i].EVSENo < p.Slots[j].EVSENo })
	return p, nil
}

// capSpare keeps the first step's charging of batteries without a deadline (charged because
// power is cheap) within what is spare after the batteries with one: they never take a
// session's share. spare load.NoLimit: no cap.
func capSpare(p *swap.Plan, spare int64) {
	if spare == load.NoLimit {
		return
	}
	left := spare
	for _, c := range p.Charges {
		if _, due := p.Deadlines[c.BatteryID]; due && c.Step == 0 {
			left -= c.PowerW
		}
	}
	left = max(left, 0)
	out := p.Charges[:0]
	for _, c := range p.Charges {
		if _, due := p.Deadlines[c.BatteryID]; !due && c.Step == 0 {
			w := min(c.PowerW, left)
			left -= w
			p.LoadW[0] -= c.PowerW - w
			if c.PowerW = w; w <= 0 {
				continue
			}
		}
		out = append(out, c)
	}
	p.Charges = out
}
