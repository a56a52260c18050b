package store

import (
	"context"
	"time"

	"github.com/evcs/evcs/internal/report"
)

// SessionFact is an ended session as reports need it: keys and figures, rated, in columns.
// Hours spreads its occupied time and energy over the UTC hours it ran (peak load, utilisation).
type SessionFact struct {
	SessionID, StationID, SiteID, TariffID, AccountID, VehicleID, Currency, Kind string
	StartedAt, StoppedAt                                                         time.Time
	EnergyWh, ExportedWh                                                         int64
	RevenueExclMinor, RevenueInclMinor                                           int64
	DurationS, PowerW                                                            int64 // PowerW: average power over the session
	Hours                                                                        []report.HourShare
}

// ReportQuery selects summary rows: buckets in [From, To), keyed by the periods' key (see
// report.Periods.Key) and one dimension (report.Site, …; "" none), optionally one site/station.
type ReportQuery struct {
	From, To          time.Time
	Periods           *report.Periods
	Dim               string
	SiteID, StationID string
	// Buckets makes HourSums list candidate peak hours instead of sums: per UTC hour bucket
	// (Key) and dimension value its energy, where whole days may be stood for by their
	// highest hour only. The highest of them per period is the period's peak.
	Buckets bool
	// Page, for the purchaser and vehicle dimensions (each value a row, so up to one per
	// session): only the first PageLimit dimension values in order, after PageAfter when
	// PageAfterSet. PageLimit 0 reads every value. A store may ignore it (the caller pages
	// again); SessionSums pages in SQL, walking an index by dimension value.
	PageLimit    int
	PageAfter    string
	PageAfterSet bool
}

// SessionAgg sums session facts of one key, dimension value and currency.
type SessionAgg struct {
	Key                                int64
	Dim, Currency                      string
	Sessions, EnergyWh, ExportedWh     int64
	RevenueExclMinor, RevenueInclMinor int64
	DurationS, PowerW                  int64
}

// HourAgg is one station's (or site's, per ReportQuery.Dim) occupied seconds and energy in one
// UTC hour bucket.
type HourAgg struct {
	Key       int64 // the bucket itself when ReportQuery.Buckets
	Dim       string
	OccupiedS int64
	Wh        int64
}

// TopUpAgg sums top-ups of one key, purchaser account ("" unless grouped) and currency.
type TopUpAgg struct {
	Key            int64
	Dim, Currency  string
	Count, AmountM int64
}

// Downtime is one interval a connector (or, with Connector 0, a whole station) reported a
// status in which it cannot charge (Faulted, Unavailable). To is zero while it lasts.
type Downtime struct {
	StationID, SiteID string
	EVSENo, Connector int
	Status            string
	From, To          time.Time
}

// StationSize is a station's site and how many EVSEs and connectors it has.
type StationSize struct {
	StationID, SiteID string
	EVSEs, Connectors int64
}

// SwapAgg counts completed swap orders of one key and dimension value.
type SwapAgg struct {
	Key   int64
	Dim   string
	Swaps int64
}

// TopUpFact is a posted top-up as reports need it.
type TopUpFact struct {
	LedgerTxID, AccountID, Currency string
	At                              time.Time
	AmountMinor                     int64
}

// Reports holds the summary tables reports read and the queries over them (see
// sqlstore/migrations/00009_reports.sql and 00014_report_rollups.sql).
type Reports interface {
	// AddSessions records ended sessions and adds them to the hourly and daily rollups. A
	// session recorded before is skipped (with its hours), so replaying a session end changes
	// nothing. The facts are written at the end of the transaction (or before it next reads a
	// report), with every other session the transaction ended.
	AddSessions(ctx context.Context, fs []SessionFact) error
	// AddTopUp adds a posted top-up to the top-up rollups. Call it once per posting, in the
	// posting's transaction.
	AddTopUp(ctx context.Context, f TopUpFact) error
	// SessionSums sums session facts by the query's key, dimension and currency.
	SessionSums(ctx context.Context, q ReportQuery) ([]SessionAgg, error)
	// HourSums sums occupied seconds and energy per UTC hour bucket and dimension (station or
	// site; "" = all).
	HourSums(ctx context.Context, q ReportQuery) ([]HourAgg, error)
	// TopUpSums sums top-ups (money into purchaser accounts) by key, purchaser and currency.
	TopUpSums(ctx context.Context, q ReportQuery) ([]TopUpAgg, error)
	// Downtimes lists the down intervals overlapping [q.From, q.To).
	Downtimes(ctx context.Context, q ReportQuery) ([]Downtime, error)
	// StationSizes lists stations (of q.SiteID / q.StationID when set) with their sizes.
	StationSizes(ctx context.Context, q ReportQuery) ([]StationSize, error)
	// SwapSums counts completed swap orders by key and dimension.
	SwapSums(ctx context.Context, q ReportQuery) ([]SwapAgg, error)
	// SoHReadings lists battery state-of-health readings in the range, in time order.
	SoHReadings(ctx context.Context, q ReportQuery) ([]SoHReading, error)
}

// SoHReading is one state-of-health reading of a battery.
type SoHReading struct {
	BatteryID, BatteryType string
	At                     time.Time
	SoHPct                 float64
}
