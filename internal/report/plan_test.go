package report

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestPlanCoversEveryHourOnce: for ranges in zones with DST and odd offsets, every hour of the
// range is read exactly once (from a day row or an hour run), and every day row lies in one
// period, so day rows sum to what their hours would.
func TestPlanCoversEveryHourOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []string{"UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"}
	base := time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		tz := zones[i%len(zones)]
		period := []string{"", Day, Week, Month, Hour}[rng.IntN(5)]
		from := base.Add(time.Duration(rng.IntN(400*24)) * time.Hour)
		days := 1 + rng.IntN(366)
		if period == Hour {
			days = 1 + rng.IntN(31)
		}
		to := from.Add(time.Duration(days*24-rng.IntN(30)) * time.Hour)
		if rng.IntN(2) == 0 { // a range in local dates
			loc, _ := time.LoadLocation(tz)
			f, tt := from.In(loc), to.In(loc)
			from, to = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc), time.Date(tt.Year(), tt.Month(), tt.Day(), 0, 0, 0, 0, loc)
		}
		r, err := ParseRange(from.Format(time.RFC3339), to.Format(time.RFC3339), tz, time.Now())
		if err != nil {
			continue
		}
		ps := r.Periods(period)
		p := ps.Plan()
		seen := map[int64]int{}
		skip := map[int64]bool{}
		for _, d := range p.Skip {
			skip[d] = true
		}
		for d := p.DayFrom; d < p.DayTo; d += dayUs {
			if skip[d] {
				continue
			}
			_, o := ps.BucketLabel(d)
			for h := d; h < d+dayUs; h += hourUs {
				seen[h]++
				if _, oh := ps.BucketLabel(h); period != "" && oh != o {
					t.Fatalf("%s %s %v..%v: day %v spans two periods", tz, period, r.From, r.To, time.UnixMicro(d).UTC())
				}
			}
		}
		for i, run := range p.Hours {
			if i > 0 && run[0] <= p.Hours[i-1][1] && p.Hours[i-1][1] != run[0] {
				t.Fatalf("runs overlap: %v", p.Hours)
			}
			for h := run[0]; h < run[1]; h += hourUs {
				seen[h]++
			}
		}
		n := 0
		for h := r.From.UnixMicro(); h < r.To.UnixMicro(); h += hourUs {
			n++
			if seen[h] != 1 {
				t.Fatalf("%s %s %v..%v: hour %v read %d times (plan %+v)", tz, period, r.From, r.To, time.UnixMicro(h).UTC(), seen[h], p)
			}
		}
		if len(seen) != n {
			t.Fatalf("%s %s: %d hours read, range has %d", tz, period, len(seen), n)
		}
		if period == "" && r.To.Sub(r.From) > 72*time.Hour && p.DayTo == p.DayFrom {
			t.Errorf("%s %v..%v: a long range without periods reads no day rows", tz, r.From, r.To)
		}
	}
}
