package report

import (
	"fmt"
	"time"
)

// Offset says that UTC hour buckets from From (Unix µs) on are Sec seconds off UTC in the
// report's zone, until the next Offset.
type Offset struct {
	From int64
	Sec  int64
}

const (
	hourUs = int64(time.Hour / time.Microsecond)
	dayUs  = 24 * hourUs
)

// Offsets lists the zone's offsets over the range's buckets: one per DST change, at the first
// bucket on the new offset.
func (r Range) Offsets() []Offset {
	off := func(t time.Time) int64 { _, s := t.In(r.Loc).Zone(); return int64(s) }
	out := []Offset{{From: r.From.UnixMicro(), Sec: off(r.From)}}
	// A zone changes offset at most a few times a year, never twice in a day: step by day,
	// then find the changing hour by bisection.
	for lo := r.From; lo.Before(r.To); {
		hi := lo.Add(24 * time.Hour)
		if hi.After(r.To) {
			hi = r.To
		}
		cur := out[len(out)-1].Sec
		if off(hi.Add(-time.Hour)) != cur {
			a, b := lo, hi.Add(-time.Hour) // off(a)==cur, off(b)!=cur
			for b.Sub(a) > time.Hour {
				m := a.Add(b.Sub(a) / 2).Truncate(time.Hour)
				if m.Equal(a) {
					m = a.Add(time.Hour)
				}
				if off(m) == cur {
					a = m
				} else {
					b = m
				}
			}
			out = append(out, Offset{From: b.UnixMicro(), Sec: off(b)})
			lo = b
			continue
		}
		lo = hi
	}
	return out
}

// Periods maps UTC hour buckets of a range to the periods of one grouping.
type Periods struct {
	Period string // "", hour, day, week, month
	r      Range
	offs   []Offset
}

// Periods returns the mapping of the range's buckets to period p ("" = the whole range).
func (r Range) Periods(p string) *Periods {
	return &Periods{Period: p, r: r, offs: r.Offsets()}
}

// Offsets of the range's buckets (for stores that compute day keys in SQL).
func (ps *Periods) Offsets() []Offset { return ps.offs }

// ByDay reports whether keys are local day numbers (day, week, month) rather than buckets.
func (ps *Periods) ByDay() bool { return ps.Period == Day || ps.Period == Week || ps.Period == Month }

func (ps *Periods) offsetAt(bucket int64) int64 {
	s := ps.offs[0].Sec
	for _, o := range ps.offs[1:] {
		if bucket < o.From {
			break
		}
		s = o.Sec
	}
	return s
}

// Key is the grouping key of a bucket: the bucket for hour, the local day number (days since
// 1970-01-01 in the zone) for day/week/month, 0 without a period.
func (ps *Periods) Key(bucket int64) int64 {
	switch {
	case ps.Period == Hour:
		return bucket
	case ps.ByDay():
		return floorDiv(bucket+ps.offsetAt(bucket)*1e6, dayUs)
	}
	return 0
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Label names the period of a key and gives its sort order.
func (ps *Periods) Label(key int64) (string, int64) {
	switch ps.Period {
	case Hour:
		return time.UnixMicro(key).In(ps.r.Loc).Format("2006-01-02T15:04Z07:00"), key
	case Day:
		return civil(key).Format(time.DateOnly), key
	case Week:
		d := civil(key)
		y, w := d.ISOWeek()
		monday := key - int64((int(d.Weekday())+6)%7)
		return fmt.Sprintf("%04d-W%02d", y, w), monday
	case Month:
		d := civil(key)
		return d.Format("2006-01"), int64(d.Year())*12 + int64(d.Month())
	}
	return "", 0
}

// civil is the date of a local day number.
func civil(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

// BucketLabel is Label(Key(bucket)).
func (ps *Periods) BucketLabel(bucket int64) (string, int64) { return ps.Label(ps.Key(bucket)) }

// Hours counts the range's hour buckets per period label (one entry "" without a period):
// the denominators of utilisation and availability (a DST day has 23 or 25).
func (ps *Periods) Hours() map[string]int64 {
	out := map[string]int64{}
	for b := ps.r.From.UnixMicro(); b < ps.r.To.UnixMicro(); b += hourUs {
		l, _ := ps.BucketLabel(b)
		out[l]++
	}
	return out
}

// HourShare is the part of a session that falls in one UTC hour bucket.
type HourShare struct {
	Bucket  int64 // Unix µs of the hour's start
	Seconds int64 // occupied seconds in the hour
	Wh      int64 // energy attributed to the hour
}

// Bucket is the UTC hour bucket (Unix µs) of t.
func Bucket(t time.Time) int64 { return t.UTC().Truncate(time.Hour).UnixMicro() }

// Spread splits a session [start, stop) over the UTC hours it occupies: seconds exactly per
// hour, and energy in proportion to time, by largest remainder so the shares add up to wh.
// A session with no duration puts everything in its start hour.
func Spread(start, stop time.Time, wh int64) []HourShare {
	start, stop = start.UTC(), stop.UTC()
	if !stop.After(start) {
		return []HourShare{{Bucket: Bucket(start), Wh: wh}}
	}
	total := stop.Sub(start)
	var out []HourShare
	var given int64
	type rem struct {
		i int
		r int64
	}
	var rems []rem
	for h := start.Truncate(time.Hour); h.Before(stop); h = h.Add(time.Hour) {
		a, b := maxT(h, start), minT(h.Add(time.Hour), stop)
		d := b.Sub(a)
		num := int64(d/time.Microsecond) * wh
		den := int64(total / time.Microsecond)
		share := num / den
		given += share
		rems = append(rems, rem{len(out), num % den})
		out = append(out, HourShare{Bucket: h.UnixMicro(), Seconds: int64(d / time.Second), Wh: share})
	}
	// Largest remainders get the Wh lost to rounding down.
	for left := wh - given; left > 0; left-- {
		best := 0
		for i, r := range rems {
			if r.r > rems[best].r {
				best = i
			}
		}
		out[rems[best].i].Wh++
		rems[best].r = -1
	}
	return out
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
