package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/load"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
)

// LoadOptions tune the load manager. Zero values take the defaults noted.
type LoadOptions struct {
	// Debounce coalesces a burst of events (a site where ten sessions start at once) into one
	// re-allocation (default 200ms).
	Debounce time.Duration
	// ThresholdW: a session's TxProfile is pushed again only when its limit moved by more than
	// this (default 500 W), so meter noise does not flood the stations.
	ThresholdW int64
	// Resync re-allocates every site with sessions this often, covering events the bus dropped
	// (default 1m; negative: never).
	Resync time.Duration
	// TopologyTTL is how long a site's tree is reused before being read again (default 30s).
	TopologyTTL time.Duration
	// DefaultACW and DefaultDCW are the rating of an EVSE whose connectors give none
	// (defaults 22 kW and 150 kW).
	DefaultACW, DefaultDCW int64
	// Priority sets a session's admission priority and fair-share weight (priority tokens).
	// Default: 0 and 1; sessions at swap stations get priority 1 (swap readiness first).
	Priority func(s *charging.Session, st *asset.Station) (priority int, weight int64)
	// ExtraDemands adds consumers that are not sessions, e.g. batteries charging in swap
	// cabinets (App.SwapDemands); their Node must be an id of the site's tree
	// ("station:<station>", or "evse:<station>/<n>"; an EVSE the tree lacks counts at its
	// station). They are not pushed (their owner does that) and count as measured at MaxW.
	ExtraDemands func(ctx context.Context, siteID string) []load.Demand
	// Timeout bounds one push to a station (default 15s).
	Timeout time.Duration
	// MeterMaxAge: a site meter's reading older than this is stale and ignored (default 30s,
	// three device polls).
	MeterMaxAge time.Duration
	// Discharge is how long a V2X session is asked to feed back when its site is over its
	// limit, and how long a refused one is not asked again (default 15m; negative: never ask).
	Discharge time.Duration
}

func (o LoadOptions) withDefaults() LoadOptions {
	if o.Debounce <= 0 {
		o.Debounce = 200 * time.Millisecond
	}
	if o.ThresholdW <= 0 {
		o.ThresholdW = 500
	}
	if o.Resync == 0 {
		o.Resync = time.Minute
	}
	if o.TopologyTTL <= 0 {
		o.TopologyTTL = 30 * time.Second
	}
	if o.DefaultACW <= 0 {
		o.DefaultACW = 22_000
	}
	if o.DefaultDCW <= 0 {
		o.DefaultDCW = 150_000
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.MeterMaxAge <= 0 {
		o.MeterMaxAge = 30 * time.Second
	}
	if o.Discharge == 0 {
		o.Discharge = 15 * time.Minute
	}
	return o
}

// SiteLoad is a site's distribution tree with limits, measured and allocated power, as the API
// shows it.
type SiteLoad struct {
	SiteID     string        `json:"site_id"`
	ComputedAt time.Time     `json:"computed_at"`
	LimitW     *int64        `json:"limit_w,omitempty" doc:"the site's grid connection limit"`
	MeasuredW  int64         `json:"measured_w" doc:"the site meter's fresh reading, else the sum of what is measured under the site"`
	AllocatedW int64         `json:"allocated_w"`
	Nodes      []LoadNode    `json:"nodes" doc:"the tree in preorder: site, distribution nodes, stations, EVSEs"`
	Sessions   []LoadSession `json:"sessions"`
	// Extra are the consumers that are not sessions: batteries charging in swap cabinets.
	Extra []LoadDemand `json:"extra,omitempty"`
	// Meters are the site's meters with their last power reading.
	Meters []LoadMeter `json:"meters,omitempty"`
	// Discharging are the V2X sessions the load manager asked to feed back.
	Discharging []LoadDischarge `json:"discharging,omitempty"`
}

// LoadDemand is a consumer other than a session and what it got.
type LoadDemand struct {
	ID         string `json:"id" doc:"battery:<id> for a battery in a swap cabinet"`
	Node       string `json:"node"`
	MaxW       int64  `json:"max_w"`
	MinW       int64  `json:"min_w"`
	Priority   int    `json:"priority"`
	Admitted   bool   `json:"admitted"`
	AllocatedW int64  `json:"allocated_w"`
}

// LoadMeter is a site meter as the load manager sees it.
type LoadMeter struct {
	DeviceID string    `json:"device_id"`
	Name     string    `json:"name,omitempty"`
	Node     string    `json:"node" doc:"the node it measures (a device with none: the site's grid connection)"`
	PowerW   int64     `json:"power_w"`
	At       time.Time `json:"at"`
	Fresh    bool      `json:"fresh" doc:"recent enough to be the node's measured load"`
}

// LoadDischarge is a V2X session asked to discharge because its site was over its limit.
type LoadDischarge struct {
	SiteID    string    `json:"site_id"`
	Node      string    `json:"node" doc:"the node that was over its limit"`
	OverW     int64     `json:"over_w" doc:"by how much"`
	SessionID string    `json:"session_id"`
	StationID string    `json:"station_id"`
	EVSENo    int       `json:"evse_no"`
	PowerW    int64     `json:"power_w" doc:"the discharge asked for"`
	Until     time.Time `json:"until"`
	CommandID string    `json:"command_id,omitempty"`
	Refused   string    `json:"refused,omitempty" doc:"why it was not asked or the station refused (e.g. the vehicle's minimum SoC)"`
}

// LoadNode is one node of a site's tree.
type LoadNode struct {
	ID         string `json:"id"`
	ParentID   string `json:"parent_id,omitempty"`
	Kind       string `json:"kind" doc:"site, grid, transformer, feeder, station, evse"`
	Name       string `json:"name,omitempty"`
	StationID  string `json:"station_id,omitempty"`
	EVSENo     int    `json:"evse_no,omitempty"`
	LimitW     *int64 `json:"limit_w,omitempty" doc:"the lowest of kW, kVA (at unity power factor) and 3 × 230 V × A per phase"`
	FailsafeW  *int64 `json:"failsafe_w,omitempty" doc:"EVSE: the TxDefaultProfile it keeps when EVCS is unreachable"`
	MeasuredW  int64  `json:"measured_w" doc:"its meter's fresh reading, else the sum of what is measured under it"`
	AllocatedW int64  `json:"allocated_w"`
	MeterW     *int64 `json:"meter_w,omitempty" doc:"its meter's fresh reading"`
	ReservedW  int64  `json:"reserved_w,omitempty" doc:"load its meter sees beyond the managed consumers: kept off the limits of the node and the nodes above"`
}

// LoadSession is one session's demand and what it got.
type LoadSession struct {
	SessionID  string `json:"session_id"`
	StationID  string `json:"station_id"`
	EVSENo     int    `json:"evse_no"`
	MaxW       int64  `json:"max_w"`
	MinW       int64  `json:"min_w"`
	Priority   int    `json:"priority"`
	Weight     int64  `json:"weight"`
	Admitted   bool   `json:"admitted" doc:"false: its minimum did not fit; it is held at 0 W"`
	AllocatedW int64  `json:"allocated_w"`
	PushedW    *int64 `json:"pushed_w,omitempty" doc:"the limit the station last accepted"`
	MeasuredW  int64  `json:"measured_w"`
}

// LoadManager re-allocates each site's power on session start, stop and meter values and on
// station connect, and pushes the limits to the stations as charging profiles.
type LoadManager struct {
	a   *App
	opt LoadOptions

	runMu  sync.Mutex // one allocation at a time
	mu     sync.Mutex // guards what follows
	topo   map[string]*siteTopo
	snaps  map[string]*SiteLoad
	pushed map[string]map[string]int64 // site → session id → limit the station accepted (TxProfile)
	siteOf map[string]string
	dis    map[string]*LoadDischarge // session id → the discharge asked for (or refused) until its end

	kick   chan string // a site to re-allocate now
	cancel context.CancelFunc
	done   chan struct{}
}

type siteTopo struct {
	readAt   time.Time
	site     *asset.Site
	tree     *load.Tree
	nodes    []LoadNode // the tree's nodes in preorder, without power
	stations map[string]*asset.Station
	evse     map[string]evseInfo // "evse:<station>/<n>" → rating
	al       *load.Allocator
	// limited: the site or one of its distribution nodes has a limit. An unlimited site is
	// shown but not managed: its stations get no profiles.
	limited bool
	// light: only readAt, site and limited are set (an unlimited site, see isLimited).
	light bool
}

type evseInfo struct {
	maxW, minW int64
	phases     int
	voltage    int
}

var loadManagers sync.Map // *App → *LoadManager

// LoadManager returns the running load manager, or nil.
func (a *App) LoadManager() *LoadManager {
	if m, ok := loadManagers.Load(a); ok {
		return m.(*LoadManager)
	}
	return nil
}

// StartLoad starts the load manager (once per App) and returns it.
func (a *App) StartLoad(opt LoadOptions) *LoadManager {
	m := &LoadManager{a: a, opt: opt.withDefaults(), topo: map[string]*siteTopo{}, snaps: map[string]*SiteLoad{},
		pushed: map[string]map[string]int64{}, siteOf: map[string]string{}, dis: map[string]*LoadDischarge{}, kick: make(chan string, 64), done: make(chan struct{})}
	if old, loaded := loadManagers.LoadOrStore(a, m); loaded {
		return old.(*LoadManager)
	}
	ctx, cancel := context.WithCancel(WithActor(context.Background(), System))
	m.cancel = cancel
	events, unsub := a.Bus.Subscribe(4096)
	go func() {
		defer close(m.done)
		defer unsub()
		m.loop(ctx, events)
	}()
	return m
}

// Stop ends the manager and waits for it.
func (m *LoadManager) Stop() {
	m.cancel()
	<-m.done
	loadManagers.CompareAndDelete(m.a, m)
}

// Load-manager events on the bus: "load.allocated" (Data *SiteLoad) after each re-allocation
// and its pushes, "load.failsafe" (StationID) after a station's default profiles were set,
// "load.discharge" (Data *LoadDischarge) after a V2X session was asked to discharge or could
// not be.
const (
	EventLoadAllocated = "load.allocated"
	EventLoadFailsafe  = "load.failsafe"
	EventLoadDischarge = "load.discharge"
)

func (m *LoadManager) loop(ctx context.Context, events <-chan Event) {
	pending := map[string]bool{}
	booted := map[string]bool{}
	var timer *time.Timer
	var fire <-chan time.Time
	arm := func() {
		if fire == nil {
			timer = time.NewTimer(m.opt.Debounce)
			fire = timer.C
		}
	}
	var tick <-chan time.Time
	if m.opt.Resync > 0 {
		t := time.NewTicker(m.opt.Resync)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Kind {
			case "session.started", "session.ended", "session.updated", "station.connected":
			case "station.booted":
				booted[ev.StationID] = true
			case EventDevicesPolled:
				for _, site := range m.metersMoved(ev) {
					pending[site] = true
					arm()
				}
				continue
			default:
				continue
			}
			if ev.Kind == "session.updated" && !m.powerMoved(ev) {
				continue
			}
			if site := m.stationSite(ctx, ev.StationID); site != "" {
				if ev.Kind == "station.connected" || ev.Kind == "station.booted" {
					m.forget(site)
				}
				pending[site] = true
				arm()
			}
		case site := <-m.kick:
			pending[site] = true
			arm()
		case <-tick:
			for _, s := range m.activeSites(ctx) {
				pending[s] = true
			}
			arm()
		case <-fire:
			fire, timer = nil, nil
			for st := range booted {
				m.failsafe(ctx, st)
				delete(booted, st)
			}
			sites := make([]string, 0, len(pending))
			for s := range pending {
				sites = append(sites, s)
			}
			slices.Sort(sites)
			clear(pending)
			for _, s := range sites {
				// A site with no limit is shown, not managed: its allocation is computed when
				// asked (Site), not at every event (with a thousand sessions on a site that
				// re-read them all several times a second).
				if limited, err := m.isLimited(ctx, s); err == nil && !limited {
					m.mu.Lock()
					delete(m.snaps, s)
					m.mu.Unlock()
					continue
				}
				if _, err := m.run(ctx, s, false); err != nil && ctx.Err() == nil {
					m.a.Log.Warn("load: re-allocation failed", "site", s, "err", err)
				}
			}
		}
	}
}

// powerMoved: a meter value matters when the session's power moved by more than the threshold
// from what the last allocation saw.
func (m *LoadManager) powerMoved(ev Event) bool {
	s, ok := ev.Data.(*charging.Session)
	if !ok {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	snap := m.snaps[m.siteOf[s.StationID]]
	if snap == nil {
		return true
	}
	for _, ls := range snap.Sessions {
		if ls.SessionID == s.ID {
			d := ls.MeasuredW - s.PowerW
			return d > m.opt.ThresholdW || -d > m.opt.ThresholdW
		}
	}
	return true
}

func (m *LoadManager) stationSite(ctx context.Context, stationID string) string {
	m.mu.Lock()
	site, ok := m.siteOf[stationID]
	m.mu.Unlock()
	if ok {
		return site
	}
	var st *asset.Station
	_ = m.a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		st, err = tx.Stations().Get(ctx, stationID)
		return err
	})
	if st == nil {
		return ""
	}
	m.mu.Lock()
	m.siteOf[stationID] = st.SiteID
	m.mu.Unlock()
	return st.SiteID
}

// isLimited answers whether a site is managed. Of an unlimited site it keeps only that answer:
// its full topology (every station, EVSE and connector) is read again when an allocation is
// asked for, rather than held for every idle station of a site nobody manages.
func (m *LoadManager) isLimited(ctx context.Context, siteID string) (bool, error) {
	m.mu.Lock()
	t := m.topo[siteID]
	m.mu.Unlock()
	if t != nil && m.a.Clock.Now().Sub(t.readAt) < m.opt.TopologyTTL {
		return t.limited, nil
	}
	t, err := m.topology(ctx, siteID)
	if err != nil {
		return false, err
	}
	if !t.limited {
		m.mu.Lock()
		m.topo[siteID] = &siteTopo{readAt: t.readAt, site: t.site, light: true}
		m.mu.Unlock()
	}
	return t.limited, nil
}

func (m *LoadManager) forget(site string) {
	m.mu.Lock()
	delete(m.topo, site)
	m.mu.Unlock()
}

// activeSites are the sites with a snapshot (they had sessions or were asked about).
func (m *LoadManager) activeSites(context.Context) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for s, snap := range m.snaps {
		if len(snap.Sessions) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Site returns the site's last allocation (computing one, without pushing, if there is none).
func (m *LoadManager) Site(ctx context.Context, siteID string) (*SiteLoad, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, errs.Wrap("site load", err)
	}
	m.mu.Lock()
	snap := m.snaps[siteID]
	m.mu.Unlock()
	if snap != nil {
		return snap, nil
	}
	m.runMu.Lock()
	defer m.runMu.Unlock()
	t, err := m.topology(ctx, siteID)
	if err != nil {
		return nil, errs.Wrap("site load", err)
	}
	snap, _, err = m.allocate(ctx, t)
	return snap, errs.Wrap("site load", err)
}

// Rebalance re-reads the site's tree, re-allocates and pushes every session's limit again,
// whether it changed or not (an operator's "make it so").
func (m *LoadManager) Rebalance(ctx context.Context, siteID string) (*SiteLoad, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap("rebalance", err)
	}
	m.forget(siteID)
	snap, err := m.run(WithActor(ctx, ActorFrom(ctx)), siteID, true)
	return snap, errs.Wrap("rebalance", err)
}

// Trigger asks for a re-allocation of a site after the debounce.
func (m *LoadManager) Trigger(siteID string) {
	select {
	case m.kick <- siteID:
	default:
	}
}

// run allocates a site and pushes the changed limits.
func (m *LoadManager) run(ctx context.Context, siteID string, force bool) (*SiteLoad, error) {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	t, err := m.topology(ctx, siteID)
	if err != nil {
		return nil, err
	}
	snap, in, err := m.allocate(ctx, t)
	if err != nil {
		return nil, err
	}
	// Every node may compute a site's allocation (the API shows it); one node pushes it.
	if t.limited && (force || m.a.leads(ctx, "load.site."+siteID)) {
		m.push(ctx, snap, in.sessions, force)
		m.relieve(ctx, t, snap, in)
	}
	m.mu.Lock()
	for i := range snap.Sessions {
		if w, ok := m.pushed[siteID][snap.Sessions[i].SessionID]; ok {
			snap.Sessions[i].PushedW = &w
		}
	}
	m.snaps[siteID] = snap
	m.mu.Unlock()
	m.a.Bus.Publish(Event{Kind: EventLoadAllocated, Data: snap})
	return snap, nil
}

// relieve asks V2X sessions to discharge when a limited node is over its limit by more than
// the threshold: what the managed consumers' limits cannot take back (a meter seeing more
// than EVCS manages). The most overloaded node first; under it, the sessions at connected
// OCPP 2.1 V2X stations, highest state of charge first, each for at most its EVSE's rating,
// until the excess is covered. The request is App.Discharge's: one that would cross the
// vehicle's minimum SoC is refused there and nothing is sent. A session asked (or refused) is
// not asked again for opt.Discharge; while it discharges it is not managed.
func (m *LoadManager) relieve(ctx context.Context, t *siteTopo, snap *SiteLoad, in *siteInput) {
	if m.opt.Discharge < 0 {
		return
	}
	worst, over := -1, m.opt.ThresholdW
	for i, n := range snap.Nodes {
		if n.LimitW != nil && (n.Kind == "site" || load.IsDistribution(n.Kind)) && n.MeasuredW-*n.LimitW > over {
			worst, over = i, n.MeasuredW-*n.LimitW
		}
	}
	if worst < 0 {
		return
	}
	under := func(node string) bool {
		v, ok := t.tree.Index(node)
		for ok && v >= 0 {
			if v == worst {
				return true
			}
			v = t.tree.Parent(v)
		}
		return false
	}
	type cand struct {
		s    *charging.Session
		maxW int64
	}
	var cands []cand
	m.mu.Lock()
	for i, s := range in.sessions {
		st := t.stations[s.StationID]
		if _, seen := m.dis[s.ID]; seen || st == nil || !st.V2X || !under(in.ds[i].Node) {
			continue
		}
		if proto, ok := m.connected(s.StationID); !ok || proto != "ocpp2.1" {
			continue
		}
		cands = append(cands, cand{s, in.ds[i].MaxW})
	}
	m.mu.Unlock()
	soc := func(s *charging.Session) int {
		if s.SoC == nil {
			return -1
		}
		return *s.SoC
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return soc(b.s) - soc(a.s) })
	left := over
	for _, c := range cands {
		if left <= 0 {
			break
		}
		w := min(left, c.maxW)
		d := &LoadDischarge{SiteID: t.site.ID, Node: snap.Nodes[worst].ID, OverW: over, SessionID: c.s.ID, StationID: c.s.StationID, EVSENo: c.s.EVSENo,
			PowerW: w, Until: m.a.Clock.Now().Add(m.opt.Discharge)}
		cctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
		cmd, err := m.a.Discharge(cctx, c.s.StationID, DischargeInput{EVSENo: c.s.EVSENo, PowerW: w, DurationS: int(m.opt.Discharge / time.Second)})
		cancel()
		switch {
		case err != nil:
			d.Refused = errs.Message(err)
		case cmd.Error != "":
			d.Refused, d.CommandID = "the station answered "+cmd.Error, cmd.ID
		default:
			d.CommandID = cmd.ID
			left -= w
		}
		m.mu.Lock()
		m.dis[c.s.ID] = d
		m.mu.Unlock()
		if d.Refused == "" {
			snap.Discharging = append(snap.Discharging, *d)
		} else {
			m.a.Log.Info("load: V2X session not discharged", "site", t.site.ID, "session", c.s.ID, "reason", d.Refused)
		}
		m.a.Bus.Publish(Event{Kind: EventLoadDischarge, StationID: c.s.StationID, Data: d})
	}
}

// metersMoved are the sites of a device poll (Data []DevicePower) whose meter reading moved by
// more than the threshold from what their last allocation saw.
func (m *LoadManager) metersMoved(ev Event) []string {
	ps, _ := ev.Data.([]DevicePower)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, p := range ps {
		moved := true
		if snap := m.snaps[p.SiteID]; snap != nil {
			for _, mt := range snap.Meters {
				if mt.DeviceID == p.DeviceID && mt.Fresh {
					d := mt.PowerW - p.PowerW
					moved = d > m.opt.ThresholdW || -d > m.opt.ThresholdW
				}
			}
		}
		if moved && !slices.Contains(out, p.SiteID) {
			out = append(out, p.SiteID)
		}
	}
	return out
}

// topology reads (or reuses) a site's tree.
func (m *LoadManager) topology(ctx context.Context, siteID string) (*siteTopo, error) {
	m.mu.Lock()
	t := m.topo[siteID]
	m.mu.Unlock()
	if t != nil && !t.light && m.a.Clock.Now().Sub(t.readAt) < m.opt.TopologyTTL {
		return t, nil
	}
	t, err := m.readTopology(ctx, siteID)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.topo[siteID] = t
	for id := range t.stations {
		m.siteOf[id] = siteID
	}
	m.mu.Unlock()
	return t, nil
}

func loadListAll[T any](ctx context.Context, r store.Repo[T], filter map[string]string) ([]T, error) {
	var out []T
	cursor := ""
	for {
		items, next, err := r.List(ctx, store.Query{Filter: filter, Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

func evseNodeID(station string, evse int) string { return fmt.Sprintf("evse:%s/%d", station, evse) }

// readTopology builds the tree: the site (grid limit) → its distribution nodes → stations →
// EVSEs, each EVSE rated by its strongest connector.
func (m *LoadManager) readTopology(ctx context.Context, siteID string) (*siteTopo, error) {
	t := &siteTopo{stations: map[string]*asset.Station{}, evse: map[string]evseInfo{}, readAt: m.a.Clock.Now()}
	var nodes []asset.Node
	var stations []asset.Station
	evses := map[string][]asset.EVSE{}
	conns := map[string][]asset.Connector{}
	err := m.a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if t.site, err = tx.Sites().Get(ctx, siteID); err != nil {
			return err
		}
		if nodes, err = loadListAll(ctx, tx.Nodes(), map[string]string{"site_id": siteID, "status": asset.Active}); err != nil {
			return err
		}
		if stations, err = loadListAll(ctx, tx.Stations(), map[string]string{"site_id": siteID}); err != nil {
			return err
		}
		for _, st := range stations {
			if evses[st.ID], err = loadListAll(ctx, tx.EVSEs(), map[string]string{"station_id": st.ID}); err != nil {
				return err
			}
			if conns[st.ID], err = loadListAll(ctx, tx.Connectors(), map[string]string{"station_id": st.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	root := "site:" + siteID
	var tn []load.Node
	add := func(ln LoadNode, limit int64) {
		tn = append(tn, load.Node{ID: ln.ID, Parent: ln.ParentID, Kind: ln.Kind, LimitW: limit})
		t.nodes = append(t.nodes, ln)
	}
	add(LoadNode{ID: root, Kind: "site", Name: t.site.Name}, kwLimit(t.site.GridLimitKW))
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.ID] = true
	}
	for _, n := range nodes {
		parent := n.ParentID
		if parent == "" || !known[parent] {
			parent = root
		}
		lim := kwLimit(n.LimitKW)
		lim = minLimit(lim, kwLimit(n.LimitKVA)) // apparent power bounds real power at unity power factor
		if n.PhaseLimitA != nil {
			lim = minLimit(lim, load.NodePhaseLimitW(*n.PhaseLimitA))
		}
		add(LoadNode{ID: n.ID, ParentID: parent, Kind: n.Kind, Name: n.Name}, lim)
	}
	for i := range stations {
		st := &stations[i]
		t.stations[st.ID] = st
		parent := root
		if st.NodeID != "" && known[st.NodeID] {
			parent = st.NodeID
		}
		add(LoadNode{ID: "station:" + st.ID, ParentID: parent, Kind: load.KindStation, Name: st.Name, StationID: st.ID}, load.NoLimit)
		for _, e := range evses[st.ID] {
			info := m.rating(st, e, conns[st.ID])
			id := evseNodeID(st.ID, e.EVSENo)
			if _, dup := t.evse[id]; dup {
				continue
			}
			t.evse[id] = info
			add(LoadNode{ID: id, ParentID: "station:" + st.ID, Kind: load.KindEVSE, StationID: st.ID, EVSENo: e.EVSENo}, info.maxW)
		}
	}
	tree, err := load.Build(tn)
	if err != nil {
		return nil, errs.Wrap("site "+siteID, err)
	}
	t.tree, t.al = tree, load.NewAllocator(tree)
	// Nodes in the tree's preorder, so that the API shows parents before children.
	byID := make(map[string]LoadNode, len(t.nodes))
	for _, n := range t.nodes {
		byID[n.ID] = n
	}
	t.nodes = t.nodes[:0]
	for i := range tree.Len() {
		n := byID[tree.Node(i).ID]
		if l := tree.Node(i).LimitW; l != load.NoLimit {
			n.LimitW = &l
		}
		if n.LimitW != nil && (n.Kind == "site" || load.IsDistribution(n.Kind)) {
			t.limited = true
		}
		if n.Kind == load.KindEVSE {
			if f := tree.FailsafeW(i); f != load.NoLimit {
				n.FailsafeW = &f
			}
		}
		t.nodes = append(t.nodes, n)
	}
	return t, nil
}

// rating is an EVSE's maximum power (its strongest connector, else the default for the
// station's kind) and its minimum: 6 A on each phase for AC, none for DC.
func (m *LoadManager) rating(st *asset.Station, e asset.EVSE, conns []asset.Connector) evseInfo {
	info := evseInfo{phases: 3, voltage: 400}
	dc := st.Kind == asset.KindDC
	for _, c := range conns {
		if c.EVSEID != e.ID {
			continue
		}
		if c.MaxPowerKW != nil && int64(*c.MaxPowerKW) > info.maxW {
			info.maxW = int64(*c.MaxPowerKW)
		}
		if c.Current == "DC" {
			dc = true
		}
		if c.Phases > 0 {
			info.phases = c.Phases
		}
		if c.VoltageV > 0 {
			info.voltage = c.VoltageV
		}
	}
	if info.maxW == 0 {
		info.maxW = m.opt.DefaultACW
		if dc {
			info.maxW = m.opt.DefaultDCW
		}
	}
	if !dc {
		info.minW = load.CurrentToW(load.MinChargeA, info.voltage, info.phases)
	}
	return info
}

func kwLimit(k *energy.KW) int64 {
	if k == nil {
		return load.NoLimit
	}
	return int64(*k)
}

func minLimit(a, b int64) int64 {
	switch {
	case a == load.NoLimit:
		return b
	case b == load.NoLimit:
		return a
	}
	return min(a, b)
}

// siteInput is what an allocation starts from.
type siteInput struct {
	sessions []*charging.Session // the managed sessions, in the order of ds
	ds       []load.Demand       // the sessions' demands, then the extra demands
	extra    int                 // ds[extra:] are the extra demands
	own      []int64             // power measured at each node itself, by preorder index
	meters   []LoadMeter
	meterW   map[int]int64 // a fresh meter reading per node index
	// discharging are the sessions asked to feed back: not managed (their discharge
	// profile stands), still measured.
	discharging []*charging.Session
}

// inputs reads the site's active sessions, its extra demands and its meters' last readings.
func (m *LoadManager) inputs(ctx context.Context, t *siteTopo) (*siteInput, error) {
	var active []charging.Session
	type meterRead struct {
		d asset.Device
		r *monitor.DeviceReading
	}
	var reads []meterRead
	err := m.a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if active, err = loadListAll(ctx, tx.Sessions(), map[string]string{"status": charging.Active}); err != nil {
			return err
		}
		devs, err := loadListAll(ctx, tx.Devices(), map[string]string{"site_id": t.site.ID, "kind": asset.DeviceMeter, "status": asset.Active})
		if err != nil {
			return err
		}
		for _, d := range devs {
			rs, _, err := tx.Monitor().DeviceReadings(ctx, d.ID, store.ReadingQuery{Quantity: monitor.QPower, Limit: 1})
			if err != nil {
				return err
			}
			if len(rs) > 0 {
				reads = append(reads, meterRead{d, &rs[0]})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	now := m.a.Clock.Now()
	in := &siteInput{own: make([]int64, t.tree.Len()), meterW: map[int]int64{}}
	m.mu.Lock()
	for id, d := range m.dis {
		if !now.Before(d.Until) {
			delete(m.dis, id) // over: the session is managed again, or may be asked again
		}
	}
	asked := map[string]bool{}
	for id, d := range m.dis {
		asked[id] = d.Refused == ""
	}
	m.mu.Unlock()
	for i := range active {
		s := &active[i]
		st := t.stations[s.StationID]
		if st == nil || s.Kind == charging.KindDischarge {
			continue // another site's, or V2G export (not a load)
		}
		node := evseNodeID(s.StationID, s.EVSENo)
		info, ok := t.evse[node]
		if !ok {
			node = "station:" + s.StationID // an EVSE EVCS has no record of: rated by default
			info = m.rating(st, asset.EVSE{}, nil)
		}
		leaf, _ := t.tree.Index(node)
		in.own[leaf] += s.PowerW
		if asked[s.ID] {
			in.discharging = append(in.discharging, s)
			continue
		}
		prio, weight := 0, int64(1)
		if st.Kind == asset.KindSwap {
			prio = 1
		}
		if m.opt.Priority != nil {
			prio, weight = m.opt.Priority(s, st)
		}
		in.ds = append(in.ds, load.Demand{ID: s.ID, Node: node, MaxW: info.maxW, MinW: info.minW, Priority: prio, Weight: weight})
		in.sessions = append(in.sessions, s)
	}
	in.extra = len(in.ds)
	if m.opt.ExtraDemands != nil {
		for _, d := range m.opt.ExtraDemands(ctx, t.site.ID) {
			leaf, ok := t.tree.Index(d.Node)
			if !ok {
				// An EVSE the tree lacks (a slot with no EVSE record) draws through its station.
				st, _, _ := strings.Cut(strings.TrimPrefix(d.Node, "evse:"), "/")
				if leaf, ok = t.tree.Index("station:" + st); !ok {
					m.a.Log.Warn("load: demand on a node the site does not have", "site", t.site.ID, "demand", d.ID, "node", d.Node)
					continue
				}
				d.Node = "station:" + st
			}
			in.own[leaf] += d.MaxW
			in.ds = append(in.ds, d)
		}
	}
	for _, r := range reads {
		node := t.gridNode()
		if r.d.NodeID != "" {
			node = r.d.NodeID
		}
		v, ok := t.tree.Index(node)
		if !ok {
			continue // on a node that is not active
		}
		lm := LoadMeter{DeviceID: r.d.ID, Name: r.d.Name, Node: node, PowerW: r.r.Milli / 1000, At: r.r.At,
			Fresh: now.Sub(r.r.At) <= m.opt.MeterMaxAge}
		in.meters = append(in.meters, lm)
		if lm.Fresh {
			in.meterW[v] = lm.PowerW // several fresh meters on one node: the last listed
		}
	}
	return in, nil
}

// gridNode is the node a meter with no node of its own measures: the site's grid connection,
// the one grid node directly under the site when there is exactly one (its limit is usually
// the site's), else the site itself.
func (t *siteTopo) gridNode() string {
	root := "site:" + t.site.ID
	grid := ""
	for _, n := range t.nodes {
		if n.ParentID == root && n.Kind == load.KindGrid {
			if grid != "" {
				return root
			}
			grid = n.ID
		}
	}
	if grid == "" {
		return root
	}
	return grid
}

// measure is the load at each node: its meter's fresh reading where it has one, else what is
// measured at the node and under it (sessions' last reported power, extra demands at their
// maximum, and the nodes below, metered or not). reserve is what a meter sees beyond the
// consumers under it (the building, chargers EVCS does not manage): the allocator keeps it off
// the limits.
func measure(t *siteTopo, in *siteInput) (measured, reserve []int64) {
	n := t.tree.Len()
	measured, reserve = make([]int64, n), make([]int64, n)
	sub := slices.Clone(in.own)
	for v := n - 1; v >= 0; v-- { // preorder backwards: every child before its parent
		measured[v] = sub[v]
		if w, ok := in.meterW[v]; ok {
			measured[v], reserve[v] = w, max(0, w-sub[v])
		}
		if p := t.tree.Parent(v); p >= 0 {
			sub[p] += measured[v]
		}
	}
	return measured, reserve
}

// allocate reads the site's active sessions, extra demands and meters, and divides the power.
func (m *LoadManager) allocate(ctx context.Context, t *siteTopo) (*SiteLoad, *siteInput, error) {
	in, err := m.inputs(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	measured, reserve := measure(t, in)
	var out load.Allocation
	if err := t.al.AllocateReserved(in.ds, reserve, &out); err != nil {
		return nil, nil, err
	}
	snap := &SiteLoad{SiteID: t.site.ID, ComputedAt: m.a.now(), Nodes: slices.Clone(t.nodes), Meters: in.meters}
	if l := kwLimit(t.site.GridLimitKW); l != load.NoLimit {
		snap.LimitW = &l
	}
	for i, s := range in.sessions {
		d := in.ds[i]
		snap.Sessions = append(snap.Sessions, LoadSession{SessionID: s.ID, StationID: s.StationID, EVSENo: s.EVSENo, MaxW: d.MaxW, MinW: d.MinW,
			Priority: d.Priority, Weight: max(d.Weight, 1), Admitted: out.Admitted[i], AllocatedW: out.DemandW[i], MeasuredW: s.PowerW})
	}
	for i := in.extra; i < len(in.ds); i++ {
		d := in.ds[i]
		snap.Extra = append(snap.Extra, LoadDemand{ID: d.ID, Node: d.Node, MaxW: d.MaxW, MinW: d.MinW, Priority: d.Priority,
			Admitted: out.Admitted[i], AllocatedW: out.DemandW[i]})
	}
	for i := range snap.Nodes {
		snap.Nodes[i].AllocatedW, snap.Nodes[i].MeasuredW, snap.Nodes[i].ReservedW = out.NodeW[i], measured[i], reserve[i]
		if w, ok := in.meterW[i]; ok {
			snap.Nodes[i].MeterW = &w
		}
	}
	snap.AllocatedW, snap.MeasuredW = out.NodeW[0], measured[0]
	m.mu.Lock()
	for _, s := range in.discharging {
		if d := m.dis[s.ID]; d != nil {
			snap.Discharging = append(snap.Discharging, *d)
		}
	}
	m.mu.Unlock()
	return snap, in, nil
}

// push sends each session whose limit changed by more than the threshold a TxProfile. Limits
// that go down are pushed (and answered) before those that go up, so that the site stays under
// its limit while the stations switch over.
func (m *LoadManager) push(ctx context.Context, snap *SiteLoad, sessions []*charging.Session, force bool) {
	type job struct {
		s *charging.Session
		w int64
	}
	var down, up []job
	m.mu.Lock()
	pushed := m.pushed[snap.SiteID]
	if pushed == nil {
		pushed = map[string]int64{}
		m.pushed[snap.SiteID] = pushed
	}
	live := map[string]bool{}
	for i, ls := range snap.Sessions {
		live[ls.SessionID] = true
		old, ok := pushed[ls.SessionID]
		d := ls.AllocatedW - old
		if !force && ok && d <= m.opt.ThresholdW && -d <= m.opt.ThresholdW {
			continue
		}
		if _, connected := m.connected(ls.StationID); !connected {
			continue
		}
		if ok && d > 0 {
			up = append(up, job{sessions[i], ls.AllocatedW})
		} else {
			down = append(down, job{sessions[i], ls.AllocatedW})
		}
	}
	for id := range pushed {
		if !live[id] {
			delete(pushed, id) // the session ended
		}
	}
	m.mu.Unlock()
	for _, batch := range [][]job{down, up} {
		var wg sync.WaitGroup
		byStation := map[string][]job{}
		for _, j := range batch {
			byStation[j.s.StationID] = append(byStation[j.s.StationID], j)
		}
		for _, jobs := range byStation {
			wg.Go(func() {
				for _, j := range jobs {
					if m.setLimit(ctx, j.s, j.w) {
						m.mu.Lock()
						pushed[j.s.ID] = j.w
						m.mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
	}
}

func (m *LoadManager) connected(stationID string) (string, bool) {
	if m.a.Commander == nil {
		return "", false
	}
	return m.a.Commander.Connected(stationID)
}

func (m *LoadManager) setLimit(ctx context.Context, s *charging.Session, w int64) bool {
	ctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
	defer cancel()
	lim, level := float64(w), 1
	cmd, err := m.a.SendCommand(ctx, s.StationID, CommandRequest{Kind: "charging_profile", EVSENo: s.EVSENo, TransactionID: s.TxRef,
		Purpose: "TxProfile", Limit: &lim, RateUnit: "W", StackLevel: &level})
	if err != nil || cmd.Error != "" {
		m.a.Log.Warn("load: charging profile not set", "station", s.StationID, "evse", s.EVSENo, "limit_w", w, "err", err, "answer", cmdErr(cmd))
		return false
	}
	return true
}

func cmdErr(c *charging.Command) string {
	if c == nil {
		return ""
	}
	return c.Error
}

// failsafe sets each EVSE of a station a TxDefaultProfile at its failsafe share, so that a
// station that loses EVCS keeps the site under its limit on its own.
func (m *LoadManager) failsafe(ctx context.Context, stationID string) {
	site := m.stationSite(ctx, stationID)
	if site == "" {
		return
	}
	m.runMu.Lock()
	limited, err := m.isLimited(ctx, site)
	var t *siteTopo
	if err == nil && limited {
		t, err = m.topology(ctx, site)
	}
	m.runMu.Unlock()
	if err != nil {
		m.a.Log.Warn("load: failsafe", "station", stationID, "err", err)
		return
	}
	if !limited {
		return
	}
	level := 0
	for _, n := range t.nodes {
		if n.StationID != stationID || n.Kind != load.KindEVSE || n.FailsafeW == nil {
			continue
		}
		lim := float64(*n.FailsafeW)
		cctx, cancel := context.WithTimeout(ctx, m.opt.Timeout)
		cmd, err := m.a.SendCommand(cctx, stationID, CommandRequest{Kind: "charging_profile", EVSENo: n.EVSENo, Purpose: "TxDefaultProfile",
			Limit: &lim, RateUnit: "W", StackLevel: &level})
		cancel()
		if err != nil || cmd.Error != "" {
			m.a.Log.Warn("load: failsafe profile not set", "station", stationID, "evse", n.EVSENo, "err", err, "answer", cmdErr(cmd))
		}
	}
	m.a.Bus.Publish(Event{Kind: EventLoadFailsafe, StationID: stationID})
}
