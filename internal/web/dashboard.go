package web

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// Snapshot is the dashboard's numbers: rendered into the page, then sent again as JSON over
// /events whenever something changes, for the page's script to update in place.
type Snapshot struct {
	At              string        `json:"at"`
	Total           int           `json:"total"`
	Connected       int           `json:"connected"`
	Offline         int           `json:"offline"`
	ConnectorCounts []StatusCount `json:"connector_counts"`
	Stations        []StationRow  `json:"stations"`
	Sites           []SitePower   `json:"sites"`
	ActiveSessions  int           `json:"active_sessions"`
	TodayEnergyWh   int64         `json:"today_energy_wh"`
	TodayEnergy     string        `json:"today_energy_kwh"`
	TodayRevenue    string        `json:"today_revenue"`
	TodaySessions   int           `json:"today_sessions"`
	Alarms          []AlarmRow    `json:"alarms"`
}

// StatusCount is how many connectors report a status.
type StatusCount struct {
	Status string `json:"status"`
	Count  int    `json:"count"`
}

// StationRow is one station on the dashboard.
type StationRow struct {
	ID         string          `json:"id"`
	Site       string          `json:"site"`
	Connected  bool            `json:"connected"`
	Protocol   string          `json:"protocol,omitempty"`
	Connectors []ConnectorLive `json:"connectors"`
	PowerW     int64           `json:"power_w"`
	Power      string          `json:"power_kw"`
}

// ConnectorLive is a connector's last reported status.
type ConnectorLive struct {
	EVSE      int    `json:"evse"`
	Connector int    `json:"connector"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	At        string `json:"at"`
}

// SitePower is the live power of a site's active sessions against its grid limit.
type SitePower struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	PowerW  int64  `json:"power_w"`
	Power   string `json:"power_kw"`
	LimitW  int64  `json:"limit_w"`
	Limit   string `json:"limit_kw"`
	Percent int    `json:"percent"`
	Over    bool   `json:"over"`
}

// AlarmRow is an open alarm (none are raised yet: monitoring comes later).
type AlarmRow struct {
	ID, Severity, Source, Text string
}

// eachPage calls fn for every record of a repository, a page at a time.
func eachPage[T any](ctx context.Context, r store.Repo[T], q store.Query, fn func(*T)) error {
	q.Limit = 500
	for {
		items, next, err := r.List(ctx, q)
		if err != nil {
			return err
		}
		for i := range items {
			fn(&items[i])
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// snapshot reads the dashboard's numbers. "Today" is the server's local day.
//
// Today's figures read three time- or status-bounded lists (each an index range), not the
// whole sessions table: the running sessions, those started since midnight and those stopped
// since midnight.
func (c *Console) snapshot(ctx context.Context) (*Snapshot, error) {
	now := c.app.Clock.Now()
	y, m, d := now.Local().Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, time.Local)
	snap := &Snapshot{At: now.UTC().Format(time.RFC3339), Alarms: []AlarmRow{}, Stations: []StationRow{}, Sites: []SitePower{}}
	revenue := map[string]int64{}
	err := c.app.Store.View(ctx, func(tx store.Tx) error {
		open, err := tx.Monitor().OpenAlarms(ctx)
		if err != nil {
			return err
		}
		for _, al := range open {
			snap.Alarms = append(snap.Alarms, AlarmRow{ID: al.ID, Severity: al.Severity, Source: al.Source, Text: al.Message})
		}
		sites := map[string]*SitePower{}
		var order []string
		if err := eachPage(ctx, tx.Sites(), store.Query{}, func(s *asset.Site) {
			sp := &SitePower{ID: s.ID, Name: s.Name}
			if s.GridLimitKW != nil {
				sp.LimitW = int64(*s.GridLimitKW)
			}
			sites[s.ID] = sp
			order = append(order, s.ID)
		}); err != nil {
			return err
		}
		live, err := tx.LiveStatus(ctx, "")
		if err != nil {
			return err
		}
		byStation := map[string][]ConnectorLive{}
		counts := map[string]int{}
		for _, l := range live {
			if l.ConnectorNo == 0 && l.EVSENo == 0 {
				continue // the station as a whole
			}
			byStation[l.StationID] = append(byStation[l.StationID], ConnectorLive{EVSE: l.EVSENo, Connector: l.ConnectorNo, Status: l.Status, Error: l.ErrorCode, At: l.At.UTC().Format(time.RFC3339)})
		}
		power := map[string]int64{}
		seen := map[string]bool{}
		count := func(s *charging.Session) {
			if seen[s.ID] {
				return // in more than one of the lists
			}
			seen[s.ID] = true
			if s.Status == charging.Active {
				snap.ActiveSessions++
				power[s.StationID] += s.PowerW
			}
			if !s.StartedAt.Before(midnight) || s.Status == charging.Active || (s.StoppedAt != nil && !s.StoppedAt.Before(midnight)) {
				snap.TodaySessions++
				snap.TodayEnergyWh += s.EnergyWh
			}
			if s.StoppedAt != nil && !s.StoppedAt.Before(midnight) && s.CostMinor != nil {
				revenue[s.Currency] += *s.CostMinor
			}
		}
		for _, q := range []store.Query{
			{Filter: map[string]string{"status": charging.Active}},
			{From: midnight},
			{From: midnight, TimeField: "stopped_at"},
		} {
			if err := eachPage(ctx, tx.Sessions(), q, count); err != nil {
				return err
			}
		}
		err = eachPage(ctx, tx.Stations(), store.Query{Filter: map[string]string{"status": asset.Active}}, func(st *asset.Station) {
			row := StationRow{ID: st.ID, Connectors: byStation[st.ID], PowerW: power[st.ID], Power: kw(power[st.ID])}
			if row.Connectors == nil {
				row.Connectors = []ConnectorLive{}
			}
			if sp := sites[st.SiteID]; sp != nil {
				row.Site = sp.Name
				sp.PowerW += power[st.ID]
			}
			if c.app.Commander != nil {
				row.Protocol, row.Connected = c.app.Commander.Connected(st.ID)
			}
			snap.Total++
			if row.Connected {
				snap.Connected++
				for _, cl := range row.Connectors {
					counts[cl.Status]++
				}
			} else {
				snap.Offline++
			}
			snap.Stations = append(snap.Stations, row)
		})
		if err != nil {
			return err
		}
		for _, id := range order {
			sp := sites[id]
			sp.Power, sp.Limit = kw(sp.PowerW), kw(sp.LimitW)
			if sp.LimitW > 0 {
				sp.Percent = int(min(100, sp.PowerW*100/sp.LimitW))
				sp.Over = sp.PowerW > sp.LimitW
			}
			snap.Sites = append(snap.Sites, *sp)
		}
		for st, n := range counts {
			snap.ConnectorCounts = append(snap.ConnectorCounts, StatusCount{st, n})
		}
		sort.Slice(snap.ConnectorCounts, func(i, j int) bool { return snap.ConnectorCounts[i].Status < snap.ConnectorCounts[j].Status })
		if snap.ConnectorCounts == nil {
			snap.ConnectorCounts = []StatusCount{}
		}
		return nil
	})
	snap.TodayEnergy = kwh(snap.TodayEnergyWh)
	curs := make([]string, 0, len(revenue))
	for cur := range revenue {
		curs = append(curs, cur)
	}
	slices.Sort(curs)
	for i, cur := range curs {
		if i > 0 {
			snap.TodayRevenue += ", "
		}
		snap.TodayRevenue += money.FormatMinor(revenue[cur], cur) + " " + cur
	}
	if snap.TodayRevenue == "" {
		snap.TodayRevenue = "0.00"
	}
	return snap, err
}

// home is the dashboard for staff; purchasers go to their own page.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	if s.Role == account.RolePurchaser {
		http.Redirect(w, r, "/me", http.StatusSeeOther)
		return
	}
	snap, err := c.snapshot(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "dashboard.html", "Dashboard", snap)
}
