// Package report holds what reports need that is pure: the names of reports, grouping by a
// period in the operator's time zone and/or one dimension, ranges, the hour-bucket arithmetic
// the summary tables use, and tabular output as JSON, CSV and XLSX. No I/O but the writers.
//
// Summary data is kept in UTC hour buckets. A report in time zone tz maps each hour bucket to
// the local hour, day, ISO week (Monday first) or month the bucket's start falls in, so days of
// 23 or 25 hours (DST) are cut right. Zones whose offset is not a whole hour (Asia/Kolkata) are
// cut at the UTC hour nearest below local midnight: at most 30 or 45 minutes off.
package report

import (
	"slices"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/errs"
)

// Report names (the {name} of /api/v1/reports/{name} and `evcs report NAME`).
const (
	Energy       = "energy"
	Sessions     = "sessions"
	Revenue      = "revenue"
	TopUps       = "topups"
	Utilisation  = "utilisation"
	Availability = "availability"
	PeakLoad     = "peak-load"
	Swaps        = "swaps"
	BatterySoH   = "battery-soh"
)

// Names lists every report.
var Names = []string{Energy, Sessions, Revenue, TopUps, Utilisation, Availability, PeakLoad, Swaps, BatterySoH}

// Periods a report can be grouped by.
const (
	Hour  = "hour"
	Day   = "day"
	Week  = "week"
	Month = "month"
)

// Dimensions a report can be grouped by.
const (
	Site      = "site"
	Station   = "station"
	Tariff    = "tariff"
	Purchaser = "purchaser"
	Vehicle   = "vehicle"
)

// Dims lists, per report, the dimensions it can be grouped by.
var Dims = map[string][]string{
	Energy:       {Site, Station, Tariff, Purchaser, Vehicle},
	Sessions:     {Site, Station, Tariff, Purchaser, Vehicle},
	Revenue:      {Site, Station, Tariff, Purchaser, Vehicle},
	TopUps:       {Purchaser},
	Utilisation:  {Site, Station},
	Availability: {Site, Station},
	PeakLoad:     {Site},
	Swaps:        {Site, Station, Purchaser, Vehicle},
	BatterySoH:   {},
}

// Grouping is at most one period and at most one dimension.
type Grouping struct {
	Period string // "", hour, day, week, month
	Dim    string // "", site, station, tariff, purchaser, vehicle
}

// String is the group_by value that parses back to g.
func (g Grouping) String() string {
	return strings.Trim(g.Period+","+g.Dim, ",")
}

// ParseGrouping reads group_by: "day", "station", "day,station" (either order). dims are the
// dimensions the report accepts.
func ParseGrouping(s string, dims []string) (Grouping, error) {
	var g Grouping
	if strings.TrimSpace(s) == "" {
		return g, nil
	}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == Hour || p == Day || p == Week || p == Month:
			if g.Period != "" {
				return g, errs.Field("group_by", "at most one period (hour, day, week, month), got %q", s)
			}
			g.Period = p
		case slices.Contains(dims, p):
			if g.Dim != "" {
				return g, errs.Field("group_by", "at most one dimension, got %q", s)
			}
			g.Dim = p
		default:
			return g, errs.Field("group_by", "%q is not a grouping of this report (periods: hour, day, week, month; dimensions: %s)", p, strings.Join(dims, ", "))
		}
	}
	return g, nil
}

// Limits on ranges, so a report stays a bounded amount of work.
const (
	MaxRange     = 366 * 24 * time.Hour
	MaxHourRange = 31 * 24 * time.Hour
)

// Range is [From, To) in whole UTC hours, reported in Loc.
type Range struct {
	From, To time.Time
	Loc      *time.Location
}

// ParseRange reads from/to (RFC 3339, or a date YYYY-MM-DD meaning local midnight in tz) and
// tz (IANA; default UTC). Without from/to the range is the 30 local days up to today
// (inclusive). Both ends are rounded down to the whole UTC hour, the summary's bucket.
func ParseRange(from, to, tz string, now time.Time) (Range, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || strings.EqualFold(tz, "local") {
			return Range{}, errs.Field("tz", "%q is not an IANA time zone", tz)
		}
		loc = l
	}
	parse := func(field, v string) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
			return t, nil
		}
		return time.Time{}, errs.Field(field, "%q is neither an RFC 3339 time nor a date (YYYY-MM-DD)", v)
	}
	n := now.In(loc)
	end := time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, loc)
	r := Range{To: end, From: time.Date(n.Year(), n.Month(), n.Day()-29, 0, 0, 0, 0, loc), Loc: loc}
	var err error
	if to != "" {
		if r.To, err = parse("to", to); err != nil {
			return r, err
		}
	}
	if from != "" {
		if r.From, err = parse("from", from); err != nil {
			return r, err
		}
	} else if to != "" {
		r.From = r.To.AddDate(0, 0, -30)
	}
	r.From, r.To = r.From.UTC().Truncate(time.Hour), r.To.UTC().Truncate(time.Hour)
	if !r.To.After(r.From) {
		return r, errs.Field("to", "must be at least an hour after from")
	}
	if r.To.Sub(r.From) > MaxRange {
		return r, errs.Field("to", "a report covers at most 366 days")
	}
	return r, nil
}

// Check validates a grouping against a range.
func (r Range) Check(g Grouping) error {
	if g.Period == Hour && r.To.Sub(r.From) > MaxHourRange {
		return errs.Field("group_by", "hourly reports cover at most 31 days")
	}
	return nil
}

// Hours is the number of hour buckets in the range.
func (r Range) Hours() int64 { return int64(r.To.Sub(r.From) / time.Hour) }
