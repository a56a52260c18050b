package app

import (
	"context"
	"strings"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/load"
)

// SlotHeadroom is the power the slots of a swap station may take now, as the load manager sees
// the site: for every limited node above the station, its limit less the load its meter sees
// beyond the managed consumers, less what the station's neighbours under it keep; the least of
// these. In need, sessions keep their minimum and other cabinets their plan: what the
// allocator can give batteries that must be ready (they come first). In spare, sessions keep
// what they draw now: what is free without taking anything from anyone. Both are load.NoLimit
// when nothing above the station is limited. The station's own slots are not counted.
func (m *LoadManager) SlotHeadroom(ctx context.Context, stationID string) (need, spare int64, err error) {
	site := m.stationSite(ctx, stationID)
	if site == "" {
		return 0, 0, errs.E(errs.NotFound, "station %s not found", stationID)
	}
	m.runMu.Lock()
	defer m.runMu.Unlock()
	t, err := m.topology(ctx, site)
	if err != nil {
		return 0, 0, err
	}
	in, err := m.inputs(ctx, t)
	if err != nil {
		return 0, 0, err
	}
	_, reserve := measure(t, in)
	n := t.tree.Len()
	keepMin, keepNow := slices0(n), slices0(n)
	for v, r := range reserve {
		keepMin[v], keepNow[v] = r, r
	}
	mine := func(node string) bool {
		return node == "station:"+stationID || strings.HasPrefix(node, "evse:"+stationID+"/")
	}
	at := func(node string) int { v, _ := t.tree.Index(node); return v }
	for i, d := range in.ds {
		if mine(d.Node) {
			continue
		}
		now := d.MaxW // an extra demand draws what it was given
		if i < in.extra {
			now = max(d.MinW, in.sessions[i].PowerW)
		}
		v := at(d.Node)
		keepMin[v] += d.MinW
		keepNow[v] += now
	}
	for _, s := range in.discharging {
		if s.StationID != stationID && s.Kind != charging.KindDischarge {
			v := at(evseOrStation(t, s))
			keepNow[v] += max(0, s.PowerW)
		}
	}
	for v := n - 1; v > 0; v-- {
		p := t.tree.Parent(v)
		keepMin[p] += keepMin[v]
		keepNow[p] += keepNow[v]
	}
	need, spare = load.NoLimit, load.NoLimit
	sv, ok := t.tree.Index("station:" + stationID)
	if !ok {
		return 0, 0, errs.E(errs.NotFound, "station %s is not in the tree of site %s", stationID, site)
	}
	for v := sv; v >= 0; v = t.tree.Parent(v) {
		lim := t.tree.Node(v).LimitW
		if lim == load.NoLimit {
			continue
		}
		need = minLimit(need, max(0, lim-keepMin[v]))
		spare = minLimit(spare, max(0, lim-keepNow[v]))
	}
	return need, spare, nil
}

func slices0(n int) []int64 { return make([]int64, n) }

// evseOrStation is the node a session draws through.
func evseOrStation(t *siteTopo, s *charging.Session) string {
	if id := evseNodeID(s.StationID, s.EVSENo); t.evse[id].maxW > 0 {
		return id
	}
	return "station:" + s.StationID
}

// loadView is the running load manager, or one that is not running (it reads the sites the
// same way; it pushes nothing) for a caller that needs its view without it.
func (a *App) loadView() *LoadManager {
	if m := a.LoadManager(); m != nil {
		return m
	}
	return &LoadManager{a: a, opt: LoadOptions{ExtraDemands: a.SwapDemands}.withDefaults(), topo: map[string]*siteTopo{}, snaps: map[string]*SiteLoad{},
		pushed: map[string]map[string]int64{}, siteOf: map[string]string{}, dis: map[string]*LoadDischarge{}}
}
