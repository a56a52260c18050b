package sqlstore

import (
	"cmp"
	"context"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
)

// Rollup levels and grains of the report summaries (see migrations/00014_report_rollups.sql).
const (
	lvlAll       = 0 // dim: a stripe
	lvlSite      = 1 // dim: site id
	lvlStation   = 2 // dim: station id
	lvlPurchaser = 3 // dim: account id (top-ups)

	grainHour  = report.GrainHour
	grainDay   = report.GrainDay
	grainMonth = report.GrainMonth
	grainWeek  = report.GrainWeek
	grains     = 4

	hourUs  = int64(3600_000_000)
	dayUs   = 24 * hourUs
	stripes = 4
)

// stripe spreads the everything-level rows of concurrent writers over a few rows.
func stripe(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return string(rune('0' + h.Sum32()%stripes))
}

func grainBucket(grain int, bucket int64) int64 {
	switch grain {
	case grainDay:
		return bucket / dayUs * dayUs
	case grainMonth:
		return report.MonthStart(bucket)
	case grainWeek:
		return report.WeekStart(bucket)
	}
	return bucket
}

type sumKey struct {
	grain, lvl       int
	dim              string
	bucket           int64
	tariff, currency string
}

type occKey struct {
	grain, lvl int
	dim        string
	bucket     int64
}

type occVal struct {
	site                    string
	occ, wh, peakWh, peakAt int64
}

type topKey struct {
	grain, lvl int
	dim        string
	bucket     int64
	currency   string
}

// Rollup sums facts into the rows of the report rollups: per UTC hour, day, month and ISO week, for everything,
// per site and per station (sessions), for everything and per purchaser (top-ups). AddSessions
// adds one to the stored rows; `evcs seed` inserts one over a whole data set.
type Rollup struct {
	sums map[sumKey]*struct {
		site string
		v    [7]int64
	}
	occ  map[occKey]*occVal
	tops map[topKey]*[2]int64
}

// NewRollup returns an empty rollup.
func NewRollup() *Rollup {
	return &Rollup{sums: map[sumKey]*struct {
		site string
		v    [7]int64
	}{}, occ: map[occKey]*occVal{}, tops: map[topKey]*[2]int64{}}
}

// AddSession adds an ended session: its figures to the hour and day it started in, its
// occupied time and energy to the hours (and days) it ran.
func (r *Rollup) AddSession(f *store.SessionFact) {
	levels := [3][2]any{{lvlAll, stripe(f.SessionID)}, {lvlSite, f.SiteID}, {lvlStation, f.StationID}}
	start := report.Bucket(f.StartedAt) // a session counts in the hour it started
	vals := [7]int64{1, f.EnergyWh, f.ExportedWh, f.RevenueExclMinor, f.RevenueInclMinor, f.DurationS, f.PowerW}
	for grain := range grains {
		for _, l := range levels {
			k := sumKey{grain, l[0].(int), l[1].(string), grainBucket(grain, start), f.TariffID, f.Currency}
			s := r.sums[k]
			if s == nil {
				s = &struct {
					site string
					v    [7]int64
				}{site: siteOf(l[0].(int), f.SiteID)}
				r.sums[k] = s
			}
			for i, v := range vals {
				s.v[i] += v
			}
		}
	}
	for _, h := range f.Hours {
		for grain := range grains {
			for _, l := range levels {
				k := occKey{grain, l[0].(int), l[1].(string), grainBucket(grain, h.Bucket)}
				o := r.occ[k]
				if o == nil {
					o = &occVal{site: siteOf(l[0].(int), f.SiteID)}
					r.occ[k] = o
				}
				o.occ += h.Seconds
				o.wh += h.Wh
			}
		}
	}
}

func siteOf(lvl int, site string) string {
	if lvl == lvlAll {
		return ""
	}
	return site
}

// AddTopUp adds a posted top-up to its hour and day, for everything and for its account.
func (r *Rollup) AddTopUp(f store.TopUpFact) {
	b := report.Bucket(f.At)
	for grain := range grains {
		for _, l := range [2][2]any{{lvlAll, stripe(f.LedgerTxID)}, {lvlPurchaser, f.AccountID}} {
			k := topKey{grain, l[0].(int), l[1].(string), grainBucket(grain, b), f.Currency}
			t := r.tops[k]
			if t == nil {
				t = new([2]int64)
				r.tops[k] = t
			}
			t[0]++
			t[1] += f.AmountMinor
		}
	}
}

// Rollup tables and their columns, in the order Rows gives values.
const (
	sumCols = "grain, lvl, dim, bucket, tariff_id, currency, site_id, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w"
	occCols = "grain, lvl, dim, bucket, site_id, occupied_s, wh, peak_wh, peak_at"
	topCols = "grain, lvl, dim, bucket, currency, topups, amount_minor"
)

// RollupTable is one table's rows of a rollup.
type RollupTable struct {
	Table string
	Cols  []string
	Rows  [][]any
}

// Tables returns the rollup's rows per table, with each day's peak hour computed from the
// rollup's own hour rows: for a rollup of a whole data set, inserted into empty tables.
func (r *Rollup) Tables() []RollupTable {
	r.peaksFromHours()
	return []RollupTable{
		{"report_session_sums", strings.Split(sumCols, ", "), r.sumRows()},
		{"report_occupancy", strings.Split(occCols, ", "), r.occRows(-1)},
		{"report_topup_sums", strings.Split(topCols, ", "), r.topRows()},
	}
}

// peaksFromHours sets every day and month row's peak to its highest hour (the earliest on a tie).
func (r *Rollup) peaksFromHours() {
	for k, o := range r.occ {
		if k.grain != grainHour {
			continue
		}
		r.peakCandidate(k.lvl, k.dim, k.bucket, o.wh)
	}
}

// peakCandidate offers an hour's total energy as the peak of its day, month and week rows (the
// higher wins, the earlier on a tie).
func (r *Rollup) peakCandidate(lvl int, dim string, bucket, wh int64) {
	for _, g := range []int{grainDay, grainMonth, grainWeek} {
		d := r.occ[occKey{g, lvl, dim, grainBucket(g, bucket)}]
		if d.peakAt == 0 || wh > d.peakWh || (wh == d.peakWh && bucket < d.peakAt) {
			d.peakWh, d.peakAt = wh, bucket
		}
	}
}

// Rows are sorted by key, so concurrent writers lock rows in one order.
func (r *Rollup) sumRows() [][]any {
	keys := make([]sumKey, 0, len(r.sums))
	for k := range r.sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sumKey) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), cmp.Compare(a.lvl, b.lvl), strings.Compare(a.dim, b.dim), cmp.Compare(a.bucket, b.bucket),
			strings.Compare(a.tariff, b.tariff), strings.Compare(a.currency, b.currency))
	})
	out := make([][]any, len(keys))
	for i, k := range keys {
		s := r.sums[k]
		out[i] = []any{k.grain, k.lvl, k.dim, k.bucket, k.tariff, k.currency, s.site, s.v[0], s.v[1], s.v[2], s.v[3], s.v[4], s.v[5], s.v[6]}
	}
	return out
}

// occRows lists the occupancy rows of one grain (-1: both).
func (r *Rollup) occRows(grain int) [][]any {
	var keys []occKey
	for k := range r.occ {
		if grain < 0 || k.grain == grain {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b occKey) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), cmp.Compare(a.lvl, b.lvl), strings.Compare(a.dim, b.dim), cmp.Compare(a.bucket, b.bucket))
	})
	out := make([][]any, len(keys))
	for i, k := range keys {
		o := r.occ[k]
		out[i] = []any{k.grain, k.lvl, k.dim, k.bucket, o.site, o.occ, o.wh, o.peakWh, o.peakAt}
	}
	return out
}

func (r *Rollup) topRows() [][]any {
	keys := make([]topKey, 0, len(r.tops))
	for k := range r.tops {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b topKey) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), cmp.Compare(a.lvl, b.lvl), strings.Compare(a.dim, b.dim), cmp.Compare(a.bucket, b.bucket),
			strings.Compare(a.currency, b.currency))
	})
	out := make([][]any, len(keys))
	for i, k := range keys {
		t := r.tops[k]
		out[i] = []any{k.grain, k.lvl, k.dim, k.bucket, k.currency, t[0], t[1]}
	}
	return out
}

const (
	sumUpsert = " ON CONFLICT (grain, lvl, dim, bucket, tariff_id, currency) DO UPDATE SET sessions = report_session_sums.sessions + excluded.sessions, " +
		"energy_wh = report_session_sums.energy_wh + excluded.energy_wh, exported_wh = report_session_sums.exported_wh + excluded.exported_wh, " +
		"revenue_excl_minor = report_session_sums.revenue_excl_minor + excluded.revenue_excl_minor, " +
		"revenue_incl_minor = report_session_sums.revenue_incl_minor + excluded.revenue_incl_minor, " +
		"duration_s = report_session_sums.duration_s + excluded.duration_s, power_w = report_session_sums.power_w + excluded.power_w"
	occHourUpsert = " ON CONFLICT (grain, lvl, dim, bucket) DO UPDATE SET occupied_s = report_occupancy.occupied_s + excluded.occupied_s, " +
		"wh = report_occupancy.wh + excluded.wh RETURNING lvl, dim, bucket, wh"
	// A day's or month's peak: the higher of the stored one and the new candidate, the
	// earlier on a tie.
	occDayUpsert = " ON CONFLICT (grain, lvl, dim, bucket) DO UPDATE SET occupied_s = report_occupancy.occupied_s + excluded.occupied_s, " +
		"wh = report_occupancy.wh + excluded.wh, " +
		"peak_wh = CASE WHEN " + newPeak + " THEN excluded.peak_wh ELSE report_occupancy.peak_wh END, " +
		"peak_at = CASE WHEN " + newPeak + " THEN excluded.peak_at ELSE report_occupancy.peak_at END"
	newPeak   = "excluded.peak_wh > report_occupancy.peak_wh OR (excluded.peak_wh = report_occupancy.peak_wh AND excluded.peak_at < report_occupancy.peak_at)"
	topUpsert = " ON CONFLICT (grain, lvl, dim, bucket, currency) DO UPDATE SET topups = report_topup_sums.topups + excluded.topups, " +
		"amount_minor = report_topup_sums.amount_minor + excluded.amount_minor"
)

// upsert adds the rollup to the stored rows. Hour rows go first: their new totals are the
// candidates for their days' peaks.
func (r *Rollup) upsert(ctx context.Context, t *tx) error {
	if err := upsertRows(ctx, t, "report_session_sums", sumCols, r.sumRows(), sumUpsert, nil); err != nil {
		return err
	}
	err := upsertRows(ctx, t, "report_occupancy", occCols, r.occRows(grainHour), occHourUpsert, r.peakCandidate)
	if err != nil {
		return err
	}
	// The hours' new totals (RETURNING, in a pipeline once sent) make the days' peaks.
	if err := t.sendPipe(); err != nil {
		return err
	}
	for _, g := range []int{grainDay, grainMonth, grainWeek} {
		if err := upsertRows(ctx, t, "report_occupancy", occCols, r.occRows(g), occDayUpsert, nil); err != nil {
			return err
		}
	}
	return upsertRows(ctx, t, "report_topup_sums", topCols, r.topRows(), topUpsert, nil)
}

// upsertRows runs multi-row upserts; returned, when set, reads the occupancy RETURNING rows.
func upsertRows(ctx context.Context, t *tx, table, cols string, rows [][]any, tail string, returned func(lvl int, dim string, bucket, wh int64)) error {
	for len(rows) > 0 {
		n := writeRows(len(rows))
		args := make([]any, 0, n*len(rows[0]))
		for _, row := range rows[:n] {
			args = append(args, row...)
		}
		q := valuesSQL("INSERT INTO "+table+" ("+cols+")", n, len(rows[0])) + tail
		var err error
		if returned == nil {
			err = t.later(ctx, "add report rollups", q, args, nil)
		} else {
			err = t.laterQuery(ctx, "add report rollups", q, args, func(row rowScanner) error {
				var lvl int
				var dim string
				var bucket, wh int64
				if err := row.Scan(&lvl, &dim, &bucket, &wh); err != nil {
					return err
				}
				returned(lvl, dim, bucket, wh)
				return nil
			})
		}
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
