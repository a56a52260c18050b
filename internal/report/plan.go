package report

import (
	"cmp"
	"slices"
	"time"
)

// Grains of the summary rows a plan reads: UTC hours, days, calendar months and ISO weeks
// (Monday to Monday, UTC).
const (
	GrainHour  = 0
	GrainDay   = 1
	GrainMonth = 2
	GrainWeek  = 3
)

// Part is a run of summary rows a plan reads: rows of one grain with buckets in [From, To),
// counted with Sign (+1, or -1 to take back what a bigger row counted for the wrong period).
// KeyAt is the bucket whose period the rows count in; -1: each row's own bucket.
type Part struct {
	Grain    int
	From, To int64
	Sign     int64
	KeyAt    int64
}

// maxParts bounds the parts of a plan (each is an index range scan in one UNION ALL); a plan
// with more is replaced by a plainer one.
const maxParts = 300

// Plan says which summary rows answer the periods' range. A month, week or day row stands for all
// its hours; when they all fall in one period it is read as is (tiling). With subtract, a row
// whose hours fall mostly in one period may be read for that period, with the rows of its
// odd days or hours taken back and read for their own periods, when that reads fewer rows: a
// local day in Amsterdam is then one UTC day row and two hour rows, not 24 hour rows. Only
// sums may subtract; maxima (peak load) need a tiling.
func (ps *Periods) Plan(subtract bool) []Part {
	from, to := ps.r.From.UnixMicro(), ps.r.To.UnixMicro()
	if ps.Period == Hour {
		return []Part{{GrainHour, from, to, 1, -1}}
	}
	pl := planner{ps: ps, from: from, to: to, orders: map[int64]int64{}, memo: map[block][]Part{}, pure: map[block][2]int64{}}
	// Taking back costs a few parts per period boundary: with many periods the plan would be
	// too long anyway.
	periods := map[int64]bool{}
	for h := from; h < to; h += hourUs {
		periods[pl.order(h)] = true
	}
	for _, sub := range []bool{true, false} {
		if sub && (!subtract || 2*len(periods) > maxParts) {
			continue
		}
		// Cover the range with months or with weeks, whichever reads fewer rows.
		var best []Part
		bestRows := -1
		for _, top := range []int{GrainMonth, GrainWeek} {
			parts, rows := pl.plan(sub, top)
			if len(parts) <= maxParts && (bestRows < 0 || rows < bestRows) {
				best, bestRows = parts, rows
			}
		}
		if bestRows >= 0 {
			return best
		}
	}
	return []Part{{GrainHour, from, to, 1, -1}}
}

type planner struct {
	ps       *Periods
	from, to int64
	orders   map[int64]int64
	memo     map[block][]Part
	pure     map[block][2]int64 // period's answers for days: order, 1 when pure
}

// none marks an hour outside the range.
const none = int64(-1 << 62)

func (pl *planner) order(h int64) int64 {
	if h < pl.from || h >= pl.to {
		return none
	}
	o, ok := pl.orders[h]
	if !ok {
		o = pl.ps.order(h)
		pl.orders[h] = o
	}
	return o
}

type block struct {
	grain    int
	from, to int64
}

func (b block) children() []block {
	var out []block
	step := hourUs
	g := GrainHour
	if b.grain == GrainMonth || b.grain == GrainWeek {
		step, g = dayUs, GrainDay
	}
	for c := b.from; c < b.to; c += step {
		out = append(out, block{g, c, c + step})
	}
	return out
}

// period returns the order of the block's hours when they all share one, and whether they do.
func (pl *planner) period(b block) (int64, bool) {
	if b.grain == GrainDay {
		if v, ok := pl.pure[b]; ok {
			return v[0], v[1] == 1
		}
		o, ok := pl.period1(b)
		v := [2]int64{o, 0}
		if ok {
			v[1] = 1
		}
		pl.pure[b] = v
		return o, ok
	}
	return pl.period1(b)
}

func (pl *planner) period1(b block) (int64, bool) {
	o := pl.order(b.from)
	for h := b.from + hourUs; h < b.to; h += hourUs {
		if pl.order(h) != o {
			return 0, false
		}
	}
	return o, o != none
}

// best returns the cheapest parts (fewest rows) that count the block's in-range hours each
// in its own period.
func (pl *planner) best(b block, subtract bool) []Part {
	if b.grain != GrainDay {
		return pl.best1(b, subtract)
	}
	if p, ok := pl.memo[b]; ok {
		return p
	}
	p := pl.best1(b, subtract)
	pl.memo[b] = p
	return p
}

func (pl *planner) best1(b block, subtract bool) []Part {
	if o, ok := pl.period(b); ok || b.grain == GrainHour {
		if !ok && o == none {
			return nil
		}
		return []Part{{b.grain, b.from, b.to, 1, -1}}
	}
	var tile []Part
	for _, c := range b.children() {
		tile = append(tile, pl.best(c, subtract)...)
	}
	if !subtract || len(tile) <= 2 {
		return tile
	}
	// The period most of the block's hours fall in, and its first hour.
	count := map[int64]int{}
	first := map[int64]int64{}
	for h := b.from; h < b.to; h += hourUs {
		o := pl.order(h)
		if o == none {
			continue
		}
		if count[o] == 0 {
			first[o] = h
		}
		count[o]++
	}
	var major int64
	n := 0
	for o, c := range count {
		if c > n || c == n && first[o] < first[major] {
			major, n = o, c
		}
	}
	sub := []Part{{b.grain, b.from, b.to, 1, first[major]}}
	for _, c := range b.children() {
		sub = append(sub, pl.fix(c, major, first[major])...)
		if len(sub) >= len(tile) {
			return tile
		}
	}
	return sub
}

// fix corrects a block that a bigger row counted whole in period major (at bucket keyAt): its
// hours of other periods, or out of the range, are taken back from major and counted in their
// own periods; the cheaper of taking the whole block back or fixing its children.
func (pl *planner) fix(b block, major, keyAt int64) []Part {
	if o, ok := pl.period(b); ok && o == major {
		return nil
	}
	whole := append([]Part{{b.grain, b.from, b.to, -1, keyAt}}, pl.best(b, true)...)
	if b.grain == GrainHour {
		return whole
	}
	var parts []Part
	for _, c := range b.children() {
		parts = append(parts, pl.fix(c, major, keyAt)...)
		if len(parts) >= len(whole) {
			return whole
		}
	}
	return parts
}

// plan covers the range with months or weeks (top), then merges adjacent parts of one kind
// into runs. rows is how many summary rows (per dimension value) the plan reads.
func (pl *planner) plan(subtract bool, top int) (out []Part, rows int) {
	clear(pl.memo)
	var parts []Part
	start, next := monthStart, nextMonth
	if top == GrainWeek {
		start, next = weekStart, func(w int64) int64 { return w + 7*dayUs }
	}
	for m := start(pl.from); m < pl.to; m = next(m) {
		parts = append(parts, pl.best(block{top, m, next(m)}, subtract)...)
	}
	slices.SortFunc(parts, func(a, b Part) int {
		return cmp.Or(cmp.Compare(a.Grain, b.Grain), cmp.Compare(a.Sign, b.Sign), cmp.Compare(a.KeyAt, b.KeyAt), cmp.Compare(a.From, b.From))
	})
	for _, p := range parts {
		if n := len(out); n > 0 {
			q := &out[n-1]
			if q.Grain == p.Grain && q.Sign == p.Sign && q.KeyAt == p.KeyAt && q.To == p.From {
				q.To = p.To
				continue
			}
		}
		out = append(out, p)
	}
	return out, len(parts)
}

// monthStart is the UTC calendar month of a bucket (Unix µs), as a bucket.
func monthStart(b int64) int64 {
	t := time.UnixMicro(b).UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

func nextMonth(m int64) int64 {
	t := time.UnixMicro(m).UTC()
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

// weekStart is the Monday 00:00 UTC of a bucket's ISO week, as a bucket. Day 0 (1970-01-01)
// was a Thursday.
func weekStart(b int64) int64 {
	d := floorDiv(b, dayUs)
	return (d - (d+3)%7) * dayUs
}

// WeekStart is the UTC ISO week a bucket falls in (the week rows' bucket).
func WeekStart(b int64) int64 { return weekStart(b) }

// MonthStart is the UTC calendar month a bucket falls in (the month rows' bucket).
func MonthStart(b int64) int64 { return monthStart(b) }

// order is the sort order of a bucket's period: equal for buckets in one period.
func (ps *Periods) order(bucket int64) int64 {
	switch ps.Period {
	case "":
		return 0
	case Hour:
		return bucket
	case Day:
		return ps.Key(bucket)
	case Week: // as Label orders: the Monday
		k := ps.Key(bucket)
		return k - int64((int(civil(k).Weekday())+6)%7)
	}
	d := civil(ps.Key(bucket))
	return int64(d.Year())*12 + int64(d.Month())
}
