package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
)

// AlarmMonitor watches stations, devices and batteries and keeps their alarms: it follows the
// Bus (connections, status, station reports), sweeps periodically for conditions that only
// time reveals (a station that stays away), polls site meters and active filters, stores
// alarms, announces them on the Bus ("alarm.raised", "alarm.acknowledged", "alarm.cleared")
// and POSTs them to the operator's webhook when one is set.
type AlarmMonitor struct {
	a *App
	// Thresholds of the rules (monitor.DefaultThresholds unless changed before Start).
	Thresholds monitor.Thresholds
	// SweepInterval is the time between sweeps (default 30 s); PollInterval between device
	// polls (default 10 s). Tests call Sweep and PollDevices directly instead.
	SweepInterval, PollInterval time.Duration
	// Reader reads site meters and active filters; nil: devices are not polled.
	Reader DeviceReader
	// HTTP posts webhooks (default: a client with a 5 s timeout).
	HTTP *http.Client

	webhook atomic.Pointer[string]
	hooks   chan []byte

	mu       sync.Mutex // serialises rule application and the caches below
	open     map[string]monitor.Alarm
	presence map[string]presenceMark // connection changes not yet stored

	cancel context.CancelFunc
	done   sync.WaitGroup
	unsub  func()
}

// presenceMark is a connection change seen on the Bus.
type presenceMark struct {
	connected bool
	at        time.Time
}

// monitors holds each App's monitor (App has no field for it).
var monitors sync.Map // *App → *AlarmMonitor

// Monitor returns the App's alarm monitor (created on first use, started by Start).
func (a *App) Monitor() *AlarmMonitor {
	if m, ok := monitors.Load(a); ok {
		return m.(*AlarmMonitor)
	}
	m, _ := monitors.LoadOrStore(a, &AlarmMonitor{a: a, Thresholds: monitor.DefaultThresholds, SweepInterval: 30 * time.Second,
		PollInterval: 10 * time.Second, HTTP: &http.Client{Timeout: 5 * time.Second}, open: map[string]monitor.Alarm{},
		presence: map[string]presenceMark{}})
	return m.(*AlarmMonitor)
}

// SetAlarmWebhook sets the URL every alarm change is POSTed to as JSON ("" for none).
func (a *App) SetAlarmWebhook(url string) { a.Monitor().webhook.Store(&url) }

// Start subscribes to the Bus and runs the sweeps, device polls and webhook posts until Stop.
func (m *AlarmMonitor) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	events, unsub := m.a.Bus.Subscribe(4096)
	m.unsub = unsub
	m.hooks = make(chan []byte, 256)
	m.done.Add(2)
	go func() { defer m.done.Done(); m.postHooks(ctx) }()
	go func() { defer m.done.Done(); m.run(ctx, events) }()
}

// Stop ends the background work and forgets the monitor.
func (m *AlarmMonitor) Stop() {
	if m.cancel != nil {
		m.cancel()
		m.unsub()
		m.done.Wait()
		m.cancel = nil
	}
	monitors.Delete(m.a)
}

func (m *AlarmMonitor) run(ctx context.Context, events <-chan Event) {
	sweep := time.NewTicker(positive(m.SweepInterval, 30*time.Second))
	defer sweep.Stop()
	var polls <-chan time.Time
	if m.Reader != nil {
		t := time.NewTicker(positive(m.PollInterval, 10*time.Second))
		defer t.Stop()
		polls = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			m.Handle(ctx, ev)
		case <-sweep.C:
			if err := m.Sweep(ctx, m.a.now()); err != nil && ctx.Err() == nil {
				m.a.Log.Warn("alarm sweep", "err", err)
			}
		case <-polls:
			if _, err := m.PollDevices(ctx, m.a.now()); err != nil && ctx.Err() == nil {
				m.a.Log.Warn("device poll", "err", err)
			}
		}
	}
}

func positive(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Handle applies the rules to one Bus event. The monitor's own loop calls it; tests may too.
func (m *AlarmMonitor) Handle(ctx context.Context, ev Event) {
	now := m.a.now()
	var conds []monitor.Condition
	switch ev.Kind {
	case "station.connected":
		m.mark(ev.StationID, true, now)
		conds = append(conds, monitor.Condition{Source: monitor.StationSource(ev.StationID), Kind: monitor.KindStationOffline})
	case "station.disconnected":
		// A station that connected again is replaced: the old socket's end says nothing.
		if m.a.Commander != nil {
			if _, ok := m.a.Commander.Connected(ev.StationID); ok {
				return
			}
		}
		m.mark(ev.StationID, false, now)
	case "status":
		if c, ok := ev.Data.(charging.StatusChange); ok {
			conds = append(conds, monitor.ConnectorFault(c))
		}
	case "station.event":
		if se, ok := ev.Data.(charging.StationEvent); ok {
			if c, ok := stationEventCondition(se); ok {
				conds = append(conds, c)
			}
		}
	}
	if len(conds) > 0 {
		if err := m.apply(ctx, now, conds); err != nil && ctx.Err() == nil {
			m.a.Log.Warn("alarm", "event", ev.Kind, "station", ev.StationID, "err", err)
		}
	}
}

// stationEventCondition reads firmware and security reports (the same fields in 1.6 and 2.x).
func stationEventCondition(se charging.StationEvent) (monitor.Condition, bool) {
	var p struct {
		Status   string `json:"status"`
		Type     string `json:"type"`
		TechInfo string `json:"techInfo"`
	}
	switch se.Kind {
	case "FirmwareStatusNotification", "SignedFirmwareStatusNotification":
		if json.Unmarshal(se.Payload, &p) == nil {
			return monitor.Firmware(se.StationID, p.Status)
		}
	case "SecurityEventNotification":
		if json.Unmarshal(se.Payload, &p) == nil {
			return monitor.Security(se.StationID, p.Type, p.TechInfo)
		}
	}
	return monitor.Condition{}, false
}

func (m *AlarmMonitor) mark(stationID string, connected bool, at time.Time) {
	m.mu.Lock()
	m.presence[stationID] = presenceMark{connected: connected, at: at}
	m.mu.Unlock()
}

// Sweep stores the stations' presence and judges what time reveals: stations unseen for too
// many heartbeat intervals, and battery health. now is the time judged at (tests pass a
// later one instead of waiting).
func (m *AlarmMonitor) Sweep(ctx context.Context, now time.Time) error {
	if !m.a.leads(ctx, "alarms.sweep") {
		return nil // another node sweeps
	}
	if err := m.reload(ctx); err != nil {
		return err
	}
	conds, presence, err := m.presenceConditions(ctx, now)
	if err != nil {
		return err
	}
	if len(presence) > 0 {
		if err := m.a.Store.InTx(ctx, func(tx store.Tx) error { return tx.Monitor().SetPresence(ctx, presence) }); err != nil {
			return errs.Wrap("store presence", err)
		}
	}
	bat, err := m.batteryConditions(ctx)
	if err != nil {
		return err
	}
	return m.apply(ctx, now, append(conds, bat...))
}

// presenceConditions merges what the store knows (refreshed by whichever node holds each
// socket), the connection changes seen here since the last sweep, and who is connected here.
func (m *AlarmMonitor) presenceConditions(ctx context.Context, now time.Time) ([]monitor.Condition, []monitor.Presence, error) {
	hb := m.a.Settings.HeartbeatInterval
	refresh := positive(hb/2, time.Minute)
	var rows []monitor.Presence
	var stations []asset.Station
	err := m.a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if rows, err = tx.Monitor().Presence(ctx); err != nil {
			return err
		}
		stations, err = listAll(ctx, tx.Stations())
		return err
	})
	if err != nil {
		return nil, nil, errs.Wrap("sweep", err)
	}
	stored := make(map[string]monitor.Presence, len(rows))
	for _, r := range rows {
		stored[r.StationID] = r
	}
	m.mu.Lock()
	marks := m.presence
	m.presence = map[string]presenceMark{}
	m.mu.Unlock()

	var conds []monitor.Condition
	var write []monitor.Presence
	for _, st := range stations {
		if st.Status != asset.Active {
			conds = append(conds, monitor.Condition{Source: monitor.StationSource(st.ID), Kind: monitor.KindStationOffline})
			continue
		}
		row, known := stored[st.ID]
		p := monitor.Presence{StationID: st.ID, SiteID: st.SiteID, Connected: row.Connected, LastSeen: row.LastSeen}
		if mk, ok := marks[st.ID]; ok && (!known || mk.at.After(row.LastSeen)) {
			p.Connected, p.LastSeen, known = mk.connected, mk.at, true
		}
		local := false
		if m.a.Commander != nil {
			_, local = m.a.Commander.Connected(st.ID)
		}
		if local {
			p.Connected, known = true, true
			if now.After(p.LastSeen) {
				p.LastSeen = now
			}
		}
		if !known {
			continue // never seen: not commissioned yet, nothing to miss
		}
		stale := !row.LastSeen.Equal(p.LastSeen) && (!local || now.Sub(row.LastSeen) >= refresh)
		if row.StationID == "" || row.Connected != p.Connected || row.SiteID != p.SiteID || stale {
			write = append(write, p)
		}
		conds = append(conds, monitor.Offline(p, local, hb, m.Thresholds, now))
	}
	return conds, write, nil
}

func (m *AlarmMonitor) batteryConditions(ctx context.Context) ([]monitor.Condition, error) {
	var bats []asset.Battery
	err := m.a.Store.View(ctx, func(tx store.Tx) (err error) { bats, err = listAll(ctx, tx.Batteries()); return })
	if err != nil {
		return nil, errs.Wrap("sweep batteries", err)
	}
	conds := make([]monitor.Condition, 0, len(bats))
	for _, b := range bats {
		c := monitor.BatteryHealth(b.ID, b.Serial, b.SoHPct, m.Thresholds)
		if b.Status != asset.Active {
			c = monitor.Condition{Source: c.Source, Kind: c.Kind}
		}
		conds = append(conds, c)
	}
	return conds, nil
}

// ObserveBatteryTemperature judges a battery temperature reading (milli-°C), for whoever
// receives it (swap cabinets' reports).
func (m *AlarmMonitor) ObserveBatteryTemperature(ctx context.Context, b asset.Battery, milliC int64) error {
	m.mu.Lock()
	_, open := m.open[monitor.Key(monitor.BatterySource(b.ID), monitor.KindBatteryOverTemp)]
	m.mu.Unlock()
	return m.apply(ctx, m.a.now(), []monitor.Condition{monitor.BatteryTemperature(b.ID, b.Serial, milliC, open, m.Thresholds)})
}

// listAll reads every record of a repository, page by page.
func listAll[T any](ctx context.Context, r store.Repo[T]) ([]T, error) {
	var out []T
	q := store.Query{Limit: 500}
	for {
		items, next, err := r.List(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		q.Cursor = next
	}
}

// reload refreshes the cache of open alarms from the store (other nodes and operators change
// them too).
func (m *AlarmMonitor) reload(ctx context.Context) error {
	var open []monitor.Alarm
	if err := m.a.Store.View(ctx, func(tx store.Tx) (err error) { open, err = tx.Monitor().OpenAlarms(ctx); return }); err != nil {
		return errs.Wrap("open alarms", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.open = make(map[string]monitor.Alarm, len(open))
	for _, a := range open {
		m.open[a.Key()] = a
	}
	return nil
}

// openSeverity is the severity of the open alarm of a source and kind ("" if none).
func (m *AlarmMonitor) openSeverity(source, kind string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.open[monitor.Key(source, kind)].Severity
}

// apply stores what the conditions decide. The cache of open alarms only skips conditions
// that change nothing; every change is decided again against the stored alarm, in its own
// transaction, so a stale cache never overwrites another node's or an operator's change.
func (m *AlarmMonitor) apply(ctx context.Context, now time.Time, conds []monitor.Condition) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var firstErr error
	for _, c := range conds {
		cached, isOpen := m.open[c.Key()]
		if !c.Active && !isOpen {
			continue
		}
		if c.Active && isOpen {
			if _, ch := monitor.Raise(&cached, c, "", now); ch == monitor.Unchanged {
				continue
			}
		}
		if err := m.change(ctx, now, c, true); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// change applies one condition to the stored open alarm (m.mu held).
func (m *AlarmMonitor) change(ctx context.Context, now time.Time, c monitor.Condition, retry bool) error {
	var out *monitor.Alarm
	var event string
	err := m.a.Store.InTx(ctx, func(tx store.Tx) error {
		out, event = nil, ""
		cur, err := tx.Monitor().OpenAlarm(ctx, c.Source, c.Kind)
		if errs.Is(err, errs.NotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		if !c.Active {
			if cur == nil {
				return nil
			}
			if out, err = monitor.Clear(cur, System.UserID, now); err != nil {
				return err
			}
			event = "alarm.cleared"
			return tx.Monitor().UpdateAlarm(ctx, out)
		}
		a, ch := monitor.Raise(cur, c, ids.New("alm"), now)
		switch ch {
		case monitor.Unchanged:
			out = cur
			return nil
		case monitor.Created:
			out, event = a, "alarm.raised"
			return tx.Monitor().CreateAlarm(ctx, a)
		case monitor.Updated:
			out, event = a, "alarm.raised"
		default:
			out = a
		}
		return tx.Monitor().UpdateAlarm(ctx, a)
	})
	if retry && errs.Is(err, errs.Conflict) {
		// Another node raised it between our read and insert: update theirs instead.
		return m.change(ctx, now, c, false)
	}
	if err != nil {
		return errs.Wrap("alarm "+c.Kind+" "+c.Source, err)
	}
	key := c.Key()
	switch {
	case out == nil:
		delete(m.open, key)
	case monitor.Open(out.Status):
		m.open[key] = *out
	default:
		delete(m.open, key)
	}
	if event != "" {
		m.announce(event, out)
	}
	return nil
}

// AlarmNotice is what the webhook receives.
type AlarmNotice struct {
	Event string        `json:"event" doc:"alarm.raised, alarm.acknowledged or alarm.cleared"`
	Alarm monitor.Alarm `json:"alarm"`
}

// announce publishes an alarm change on the Bus and queues it for the webhook.
func (m *AlarmMonitor) announce(event string, a *monitor.Alarm) {
	m.a.Bus.Publish(Event{Kind: event, StationID: a.StationID, Data: *a})
	url := m.webhook.Load()
	if url == nil || *url == "" || m.hooks == nil {
		return
	}
	body, _ := json.Marshal(AlarmNotice{Event: event, Alarm: *a})
	select {
	case m.hooks <- body:
	default:
		m.a.Log.Warn("alarm webhook queue full: notice dropped", "alarm", a.ID, "event", event)
	}
}

func (m *AlarmMonitor) postHooks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case body := <-m.hooks:
			url := m.webhook.Load()
			if url == nil || *url == "" {
				continue
			}
			if err := m.post(ctx, *url, body); err != nil && ctx.Err() == nil {
				m.a.Log.Warn("alarm webhook", "url", *url, "err", err)
			}
		}
	}
}

func (m *AlarmMonitor) post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "evcs-alarms")
	res, err := m.HTTP.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		return errs.E(errs.Unavailable, "webhook answered %s", res.Status)
	}
	return nil
}

// Alarms lists alarms (filters: status, severity, source, kind, station_id, site_id).
func (a *App) Alarms(ctx context.Context, q store.Query) ([]monitor.Alarm, string, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("alarms", err)
	}
	if err := CheckAlarmQuery(q); err != nil {
		return nil, "", err
	}
	var items []monitor.Alarm
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { items, next, err = tx.Monitor().Alarms(ctx, q); return })
	return items, next, errs.Wrap("alarms", err)
}

// Alarm returns one alarm.
func (a *App) Alarm(ctx context.Context, id string) (*monitor.Alarm, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, errs.Wrap("alarm", err)
	}
	var out *monitor.Alarm
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, err = tx.Monitor().Alarm(ctx, id); return })
	return out, errs.Wrap("alarm", err)
}

// AcknowledgeAlarm records that an operator has seen an alarm.
func (a *App) AcknowledgeAlarm(ctx context.Context, id string) (*monitor.Alarm, error) {
	return a.operateAlarm(ctx, id, "acknowledge", "alarm.acknowledged", monitor.Acknowledge)
}

// ClearAlarm ends an alarm by an operator's decision. A condition that persists raises a new
// alarm at the next check.
func (a *App) ClearAlarm(ctx context.Context, id string) (*monitor.Alarm, error) {
	return a.operateAlarm(ctx, id, "clear", "alarm.cleared", monitor.Clear)
}

func (a *App) operateAlarm(ctx context.Context, id, action, event string, fn func(*monitor.Alarm, string, time.Time) (*monitor.Alarm, error)) (*monitor.Alarm, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap(action+" alarm", err)
	}
	m := a.Monitor()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out *monitor.Alarm
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Monitor().Alarm(ctx, id)
		if err != nil {
			return err
		}
		if out, err = fn(cur, ActorFrom(ctx).UserID, a.now()); err != nil {
			return err
		}
		if err := tx.Monitor().UpdateAlarm(ctx, out); err != nil {
			return err
		}
		return a.record(ctx, tx, action, "alarm", id, cur, out)
	})
	if err != nil {
		return nil, errs.Wrap(action+" alarm", err)
	}
	if monitor.Open(out.Status) {
		m.open[out.Key()] = *out
	} else {
		delete(m.open, out.Key())
	}
	m.announce(event, out)
	return out, nil
}

// AlarmFilters are the fields alarms can be listed by.
var AlarmFilters = []string{"status", "severity", "source", "kind", "station_id", "site_id"}

// validAlarmFilter reports whether a filter value is one the API knows (for early errors).
func validAlarmFilter(k, v string) bool {
	switch k {
	case "status":
		return v == monitor.Raised || v == monitor.Acknowledged || v == monitor.Cleared
	case "severity":
		return monitor.SeverityRank(v) > 0
	case "kind":
		for _, x := range monitor.Kinds {
			if x == v {
				return true
			}
		}
		return false
	}
	return strings.TrimSpace(v) != ""
}

// CheckAlarmQuery refuses unknown alarm filters and values with errs Invalid.
func CheckAlarmQuery(q store.Query) error {
	for k, v := range q.Filter {
		known := false
		for _, f := range AlarmFilters {
			known = known || f == k
		}
		if !known {
			return errs.Field(k, "cannot filter alarms by %s (filters: %s)", k, strings.Join(AlarmFilters, ", "))
		}
		if !validAlarmFilter(k, v) {
			return errs.Field(k, "%q is not a valid %s", v, k)
		}
	}
	return nil
}
