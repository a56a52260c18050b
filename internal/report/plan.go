package report

// Plan says which summary rows answer a range: whole UTC days that lie in one period are read
// from day rows, every other hour from hour rows. A day row stands for 24 hour buckets that all
// map to one period key, so summing day rows gives the same figures as summing their hours.
type Plan struct {
	// DayFrom, DayTo bound the UTC days (Unix µs of midnight) read from day rows; Skip lists the
	// days between them that are read from hour rows instead. DayTo == DayFrom: none.
	DayFrom, DayTo int64
	Skip           []int64
	// Hours are runs [from, to) of hour buckets read from hour rows, in order, not overlapping.
	Hours [][2]int64
}

// maxRuns bounds the hour runs of a plan (each is a range scan); more and the plan reads every
// hour of the range instead.
const maxRuns = 200

// order is the sort order of a bucket's period: equal for buckets in one period.
func (ps *Periods) order(bucket int64) int64 {
	if ps.Period == "" {
		return 0
	}
	_, o := ps.BucketLabel(bucket)
	return o
}

// Plan splits the periods' range into day rows and hour runs. Hourly periods read hours only.
func (ps *Periods) Plan() Plan {
	from, to := ps.r.From.UnixMicro(), ps.r.To.UnixMicro()
	var p Plan
	if ps.Period == Hour {
		p.Hours = [][2]int64{{from, to}}
		return p
	}
	addHours := func(a, b int64) {
		if a >= b {
			return
		}
		if n := len(p.Hours); n > 0 && p.Hours[n-1][1] == a {
			p.Hours[n-1][1] = b
			return
		}
		p.Hours = append(p.Hours, [2]int64{a, b})
	}
	var full []bool
	var days []int64
	for d := floorDiv(from, dayUs) * dayUs; d < to; d += dayUs {
		days = append(days, d)
		f := d >= from && d+dayUs <= to && ps.order(d) == ps.order(d+dayUs-hourUs)
		full = append(full, f)
		if !f {
			addHours(max(d, from), min(d+dayUs, to))
		}
	}
	first, last := -1, -1
	for i, f := range full {
		if f {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || len(p.Hours) > maxRuns {
		return Plan{Hours: [][2]int64{{from, to}}}
	}
	p.DayFrom, p.DayTo = days[first], days[last]+dayUs
	for i := first; i <= last; i++ {
		if !full[i] {
			p.Skip = append(p.Skip, days[i])
		}
	}
	return p
}
