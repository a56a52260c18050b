package report

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestPlanCountsEveryHourOnce: for ranges in zones with DST and odd offsets, and every
// grouping, the rows a plan reads (month, day and hour rows, some taken back) count every hour
// of the range exactly once, in its own period, and nothing outside the range; a row counted
// in its own bucket's period lies in one period. A tiling (no subtraction) takes nothing back.
func TestPlanCountsEveryHourOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []string{"UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"}
	base := time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC)
	for i := range 400 {
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
		for _, subtract := range []bool{true, false} {
			parts := ps.Plan(subtract)
			if len(parts) > maxParts {
				t.Fatalf("%d parts", len(parts))
			}
			type hp struct{ hour, period int64 }
			got := map[hp]int64{}
			for _, p := range parts {
				if !subtract && p.Sign != 1 {
					t.Fatalf("a tiling takes back: %+v", p)
				}
				for b := p.From; b < p.To; b = next(p.Grain, b) {
					o := ps.order(b)
					if p.KeyAt >= 0 {
						o = ps.order(p.KeyAt)
					}
					if p.KeyAt < 0 && p.Grain != GrainHour && ps.order(b) != ps.order(next(p.Grain, b)-hourUs) {
						t.Fatalf("%s %s: row %v counted in its own period spans two", tz, period, time.UnixMicro(b).UTC())
					}
					for h := b; h < next(p.Grain, b); h += hourUs {
						got[hp{h, o}] += p.Sign
					}
				}
			}
			for k, n := range got {
				want := int64(0)
				if k.hour >= r.From.UnixMicro() && k.hour < r.To.UnixMicro() && ps.order(k.hour) == k.period {
					want = 1
				}
				if n != want {
					t.Fatalf("%s %s %v..%v (subtract %v): hour %v counts %d times in period %d (plan %+v)", tz, period, r.From, r.To, subtract,
						time.UnixMicro(k.hour).UTC(), n, k.period, parts)
				}
			}
			for h := r.From.UnixMicro(); h < r.To.UnixMicro(); h += hourUs {
				if got[hp{h, ps.order(h)}] != 1 {
					t.Fatalf("%s %s: hour %v not counted", tz, period, time.UnixMicro(h).UTC())
				}
			}
		}
	}
}

func next(grain int, b int64) int64 {
	switch grain {
	case GrainMonth:
		return nextMonth(b)
	case GrainWeek:
		return b + 7*dayUs
	case GrainDay:
		return b + dayUs
	}
	return b + hourUs
}

// TestPlanReadsFewRows: a year by month or without periods reads a few dozen rows per
// dimension value, a month by local day or a year by local week a few per period: not hours.
func TestPlanReadsFewRows(t *testing.T) {
	for _, c := range []struct {
		tz, from, to, period string
		max                  int64
	}{
		{"UTC", "2025-11-01", "2026-11-01", Month, 12},
		{"Europe/Amsterdam", "2025-11-01", "2026-11-01", "", 20},
		{"Europe/Amsterdam", "2025-11-01", "2026-11-01", Month, 80},
		{"Europe/Amsterdam", "2026-10-01", "2026-11-01", Day, 160},
		{"America/New_York", "2025-11-01", "2026-11-01", Week, 600},
		{"Europe/Amsterdam", "2025-11-01", "2026-11-01", Week, 230},
	} {
		r, err := ParseRange(c.from, c.to, c.tz, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var rows int64
		for _, p := range r.Periods(c.period).Plan(true) {
			for b := p.From; b < p.To; b = next(p.Grain, b) {
				rows++
			}
		}
		if rows > c.max {
			t.Errorf("%s %s by %q: %d rows per dimension value, want at most %d", c.tz, c.from, c.period, rows, c.max)
		}
	}
}
