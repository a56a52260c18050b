package billing

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"
)

// UsagePoint is a reading of a session's meter: energy delivered since the start (Wh) at a time.
type UsagePoint struct {
	At time.Time
	Wh int64
}

// Usage is what a session measured, for turning it into a CDR.
type Usage struct {
	Start, End time.Time
	Currency   string
	TariffID   string
	Points     []UsagePoint // cumulative Wh since Start, in time order; Start and End are added
}

// BuildCDR turns a session's usage into an OCPI CDR whose charging periods start at every
// instant where the tariff could change what applies (OCPI 2.2.1 mod_cdrs: "a new period
// starts when … another tariff element becomes active") and wherever charging turns into
// parking or back. Between two readings energy is spread evenly over time, in whole Wh with
// the remainder kept, so the periods always add up to the session's energy exactly.
func BuildCDR(u Usage, t *Tariff, loc *time.Location) CDR {
	if loc == nil {
		loc = time.UTC
	}
	pts := normalise(u)
	cuts := boundaries(u.Start, u.End, pts, t, loc)
	type part struct {
		at       time.Time
		dur      time.Duration
		wh       int64
		charging bool
		cut      bool // a tariff boundary starts here
	}
	var parts []part
	ci := 0
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		if !b.At.After(a.At) {
			continue
		}
		span := b.At.Sub(a.At)
		delta := b.Wh - a.Wh
		start := a.At
		given := int64(0)
		for start.Before(b.At) {
			for ci < len(cuts) && !cuts[ci].After(start) {
				ci++
			}
			end := b.At
			isCut := len(parts) > 0 && ci > 0 && cuts[ci-1].Equal(start)
			if ci < len(cuts) && cuts[ci].Before(b.At) {
				end = cuts[ci]
			}
			wh := delta - given
			if end.Before(b.At) {
				// Milliseconds, not nanoseconds: a day-long segment of a MWh stays far from overflow.
				wh = delta*end.Sub(a.At).Milliseconds()/max(span.Milliseconds(), 1) - given
			}
			given += wh
			parts = append(parts, part{at: start, dur: end.Sub(start), wh: wh, charging: delta > 0, cut: isCut})
			start = end
		}
	}
	cdr := CDR{StartDateTime: DateTime{u.Start}, EndDateTime: DateTime{u.End}, Currency: u.Currency}
	var cur *ChargingPeriod
	var wh int64
	var secs time.Duration
	charging := false
	flush := func() {
		if cur == nil {
			return
		}
		dim := CdrParkingTime
		if charging {
			dim = CdrTime
		}
		cur.Dimensions = append(cur.Dimensions, CdrDimension{Type: CdrEnergy, Volume: kwh(wh)}, CdrDimension{Type: dim, Volume: hours(secs)})
		cdr.ChargingPeriods = append(cdr.ChargingPeriods, *cur)
	}
	for _, p := range parts {
		if cur == nil || p.cut || p.charging != charging {
			flush()
			cur = &ChargingPeriod{StartDateTime: DateTime{p.at}, TariffID: u.TariffID}
			wh, secs, charging = 0, 0, p.charging
		}
		wh += p.wh
		secs += p.dur
	}
	flush()
	if len(cdr.ChargingPeriods) == 0 { // a session of no duration: one empty period
		cdr.ChargingPeriods = []ChargingPeriod{{StartDateTime: DateTime{u.Start}, TariffID: u.TariffID,
			Dimensions: []CdrDimension{{Type: CdrEnergy, Volume: kwh(0)}, {Type: CdrTime, Volume: hours(0)}}}}
	}
	return cdr
}

// normalise clips the points to the session, makes energy monotonic and adds the ends.
func normalise(u Usage) []UsagePoint {
	pts := make([]UsagePoint, 0, len(u.Points)+2)
	pts = append(pts, UsagePoint{At: u.Start, Wh: 0})
	var last int64
	sorted := append([]UsagePoint(nil), u.Points...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	for _, p := range sorted {
		if !p.At.Before(u.End) {
			if p.Wh > last {
				last = p.Wh // a reading at or after the end still counts, at the end
			}
			continue
		}
		if !p.At.After(u.Start) {
			if p.Wh <= 0 {
				continue // the start register: the start point already says 0 Wh
			}
			// Energy read at (or before) the start was delivered in the session's first moment;
			// the start itself stays at 0 Wh.
			p.At = u.Start.Add(time.Millisecond)
			if !p.At.Before(u.End) {
				if p.Wh > last {
					last = p.Wh
				}
				continue
			}
		}
		if p.Wh < last {
			p.Wh = last
		}
		last = p.Wh
		if prev := &pts[len(pts)-1]; prev.At.Equal(p.At) {
			prev.Wh = p.Wh // readings at one instant: the latest register wins, no energy in zero time is lost
			continue
		}
		pts = append(pts, p)
	}
	return append(pts, UsagePoint{At: u.End, Wh: last})
}

// boundaries lists, in order, the instants within the session where a restriction of the
// tariff can start or stop holding: time-of-day edges and midnights in loc, duration limits,
// and the moments energy crosses a kWh limit.
func boundaries(start, end time.Time, pts []UsagePoint, t *Tariff, loc *time.Location) []time.Time {
	if t == nil {
		return nil
	}
	set := map[time.Time]bool{}
	add := func(x time.Time) {
		if x.After(start) && x.Before(end) {
			set[x.UTC()] = true
		}
	}
	days := []time.Time{}
	for d := time.Date(start.In(loc).Year(), start.In(loc).Month(), start.In(loc).Day(), 0, 0, 0, 0, loc); !d.After(end); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	for _, e := range t.Elements {
		r := e.Restrictions
		if r == nil {
			continue
		}
		for _, hm := range []string{r.StartTime, r.EndTime} {
			if h, m, ok := clock(hm); ok {
				for _, d := range days {
					add(time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc))
				}
			}
		}
		if len(r.DayOfWeek) > 0 || r.StartDate != "" || r.EndDate != "" {
			for _, d := range days {
				add(d)
			}
		}
		for _, s := range []*int64{r.MinDuration, r.MaxDuration} {
			if s != nil && *s >= 0 && *s < int64(end.Sub(start)/time.Second)+1 {
				add(start.Add(time.Duration(*s) * time.Second))
			}
		}
		for _, k := range []*Number{r.MinKWh, r.MaxKWh} {
			if k == nil {
				continue
			}
			whD, err := k.Decimal().Mul(decimal.Thousand)
			if err != nil {
				continue
			}
			limit, _, ok := whD.Ceil(0).Int64(0)
			if !ok {
				continue
			}
			if at, ok := crossing(pts, limit); ok {
				add(at)
			}
		}
	}
	out := make([]time.Time, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// crossing finds when cumulative energy first reaches limit Wh, interpolating linearly.
func crossing(pts []UsagePoint, limit int64) (time.Time, bool) {
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		if a.Wh < limit && b.Wh >= limit {
			// Round the instant up: the energy spread up to it (rounded down) is then exactly
			// the limit, so the period before the cut holds the limit and not one Wh less.
			num, den := b.At.Sub(a.At).Milliseconds()*(limit-a.Wh), b.Wh-a.Wh
			return a.At.Add(time.Duration((num+den-1)/den) * time.Millisecond), true
		}
	}
	return time.Time{}, false
}

func clock(hm string) (int, int, bool) {
	h, m, ok := strings.Cut(hm, ":")
	if !ok {
		return 0, 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	return hh, mm, err1 == nil && err2 == nil
}

func kwh(wh int64) Number {
	d, _ := decimal.New(wh, 3)
	return NewNumber(d.Trim(0))
}

// hours writes a duration as hours with 9 decimals: rating rounds time volumes to whole
// seconds, and 1e-9 h is far below a second, so no second is lost or gained.
func hours(d time.Duration) Number {
	s := int64(d / time.Second)
	n, _ := decimal.New(s, 0)
	h, err := n.Quo(decimal.MustNew(3600, 0))
	if err != nil {
		return NewNumber(decimal.Zero)
	}
	return NewNumber(h.Round(9).Trim(0))
}
