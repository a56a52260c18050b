package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
)

type reports struct{ t *tx }

func (t *tx) Reports() store.Reports { return reports{t} }

const sessionFactCols = "session_id, bucket, station_id, site_id, tariff_id, account_id, vehicle_id, currency, kind, started_at, stopped_at, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w"

// SessionFactArgs are the column values of a fact in sessionFactCols order (for bulk loaders).
func SessionFactArgs(f *store.SessionFact) []any {
	return []any{f.SessionID, report.Bucket(f.StartedAt), f.StationID, f.SiteID, f.TariffID, f.AccountID, f.VehicleID, f.Currency, f.Kind,
		micros(f.StartedAt), micros(f.StoppedAt), f.EnergyWh, f.ExportedWh, f.RevenueExclMinor, f.RevenueInclMinor, f.DurationS, f.PowerW}
}

// SessionFactColumns is the column list SessionFactArgs fills.
const SessionFactColumns = sessionFactCols

// AddSessions holds facts back to the end of the transaction (tx.flush) or its next report
// read: a batch of session stops then inserts them in one statement, not one each. flushFacts
// skips sessions recorded before and adds those inserted to the rollups (see rollup.go).
func (r reports) AddSessions(_ context.Context, fs []store.SessionFact) error {
	r.t.pendFacts = append(r.t.pendFacts, fs...)
	return nil
}

// flushFacts writes the held-back session facts in multi-row inserts and adds those not
// recorded before to the rollups.
func (t *tx) flushFacts(ctx context.Context) error {
	fs := t.pendFacts
	t.pendFacts = nil
	if len(fs) == 0 {
		return nil
	}
	// The facts not recorded before (RETURNING) go into the rollups once their inserts have
	// run: in a pipeline, when it is sent.
	fresh := map[string]bool{}
	for from := 0; from < len(fs); {
		n := writeRows(len(fs) - from)
		args := make([]any, 0, n*17)
		for i := range fs[from : from+n] {
			args = append(args, SessionFactArgs(&fs[from+i])...)
		}
		q := valuesSQL("INSERT INTO report_sessions ("+sessionFactCols+")", n, 17) + " ON CONFLICT (session_id) DO NOTHING RETURNING session_id"
		err := t.laterQuery(ctx, "add report sessions", q, args, func(row rowScanner) error {
			var id string
			if err := row.Scan(&id); err != nil {
				return err
			}
			fresh[id] = true
			return nil
		})
		if err != nil {
			return err
		}
		from += n
	}
	if err := t.sendPipe(); err != nil {
		return err
	}
	roll := t.rollup()
	for i := range fs {
		if id := fs[i].SessionID; fresh[id] {
			roll.AddSession(&fs[i])
			delete(fresh, id) // a session twice in the batch counts once
		}
	}
	return nil
}

// AddTopUp adds a posted top-up to the top-up rollups (written when the transaction commits).
func (r reports) AddTopUp(ctx context.Context, f store.TopUpFact) error {
	r.t.rollup().AddTopUp(f)
	return nil
}

// keyExpr is the SQL of a period key over a column of UTC hour buckets (see
// report.Periods.Key): the bucket for hours, the local day number (bucket plus the zone's
// offset in force, in whole days) for day, week and month; weeks and months are rolled up
// from days by the caller. Offsets are parameters, so one statement serves every range.
func keyExpr(col string, ps *report.Periods, args *[]any) string {
	switch {
	case ps == nil || ps.Period == "":
		return "CAST(0 AS BIGINT)"
	case ps.Period == report.Hour:
		return col
	}
	offs := ps.Offsets()
	var b strings.Builder
	b.WriteString("((" + col + " + ")
	if len(offs) == 1 {
		b.WriteString("CAST(? AS BIGINT)")
		*args = append(*args, offs[0].Sec*1e6)
	} else {
		b.WriteString("CASE")
		for i := 1; i < len(offs); i++ {
			b.WriteString(" WHEN " + col + " < CAST(? AS BIGINT) THEN CAST(? AS BIGINT)")
			*args = append(*args, offs[i].From, offs[i-1].Sec*1e6)
		}
		b.WriteString(" ELSE CAST(? AS BIGINT) END")
		*args = append(*args, offs[len(offs)-1].Sec*1e6)
	}
	b.WriteString(") / 86400000000)")
	return b.String()
}

var dimCols = map[string]string{report.Site: "site_id", report.Station: "station_id", report.Tariff: "tariff_id",
	report.Purchaser: "account_id", report.Vehicle: "vehicle_id"}

func dimExpr(prefix, dim string) string {
	if c, ok := dimCols[dim]; ok {
		return prefix + c
	}
	return "CAST('' AS TEXT)"
}

// where adds the range and site/station filters on a table with bucket, site_id, station_id.
func where(q store.ReportQuery, args *[]any) string {
	w := " WHERE bucket >= ? AND bucket < ?"
	*args = append(*args, micros(q.From), micros(q.To))
	if q.SiteID != "" {
		w += " AND site_id = ?"
		*args = append(*args, q.SiteID)
	}
	if q.StationID != "" {
		w += " AND station_id = ?"
		*args = append(*args, q.StationID)
	}
	return w
}

func (r reports) query(ctx context.Context, op, q string, args []any, scan func(*sql.Rows) error) error {
	if err := r.t.flushFacts(ctx); err != nil {
		return err
	}
	return r.t.queryEach(ctx, op, q, args, scan)
}

// level picks the rollup level that answers q: the coarsest that has its dimension and filters.
func level(q store.ReportQuery) int {
	switch {
	case q.Dim == report.Station || q.StationID != "":
		return lvlStation
	case q.Dim == report.Site || q.SiteID != "":
		return lvlSite
	}
	return lvlAll
}

// levelFilter is the SQL (and args) of q's site and station filters at a level.
func levelFilter(q store.ReportQuery, lvl int) (string, []any) {
	var w string
	var args []any
	switch lvl {
	case lvlStation:
		if q.StationID != "" {
			w += " AND dim = ?"
			args = append(args, q.StationID)
		}
		if q.SiteID != "" {
			w += " AND site_id = ?"
			args = append(args, q.SiteID)
		}
	case lvlSite:
		if q.SiteID != "" {
			w += " AND dim = ?"
			args = append(args, q.SiteID)
		}
	}
	return w, args
}

// planned is a UNION ALL over a rollup table that reads q's range as q.Periods.Plan says:
// month, day and hour rows, each with kb, the bucket whose period it counts in, and sg, +1 or
// -1 (a row taken back). cols is the rest of the select list; with subtract false every row
// counts in its own bucket's period with sign +1 (a tiling, for maxima), and cols gets the
// grain to pick its columns.
func planned(q store.ReportQuery, table string, lvl int, subtract bool, cols func(grain int) string, args *[]any) string {
	ps := q.Periods
	if ps == nil {
		ps = report.Range{From: q.From, To: q.To, Loc: time.UTC}.Periods("")
	}
	filter, fargs := levelFilter(q, lvl)
	var parts []string
	for _, p := range ps.Plan(subtract) {
		var b strings.Builder
		b.WriteString("SELECT ")
		if subtract {
			if p.KeyAt < 0 {
				b.WriteString("bucket AS kb, ")
			} else {
				b.WriteString("CAST(? AS BIGINT) AS kb, ")
				*args = append(*args, p.KeyAt)
			}
			b.WriteString(strconv.FormatInt(p.Sign, 10) + " AS sg, ")
		}
		b.WriteString(cols(p.Grain) + " FROM " + table + " WHERE grain = " + strconv.Itoa(p.Grain) + " AND lvl = " + strconv.Itoa(lvl) +
			" AND bucket >= ? AND bucket < ?" + filter)
		*args = append(*args, p.From, p.To)
		*args = append(*args, fargs...)
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " UNION ALL ")
}

// signed is the SQL of the signed sum of columns of a planned select.
func signed(cols ...string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "CAST(SUM(sg * " + c + ") AS BIGINT)"
	}
	return strings.Join(out, ", ")
}

// dimOut is the SQL of the dimension a rollup row reports at a level.
func dimOut(dim string, lvl int) string {
	switch {
	case dim == report.Tariff:
		return "tariff_id"
	case dim == report.Site:
		return "site_id"
	case dim == report.Station && lvl == lvlStation, dim == report.Purchaser && lvl == lvlPurchaser:
		return "dim"
	}
	return "CAST('' AS TEXT)"
}

func (r reports) SessionSums(ctx context.Context, q store.ReportQuery) ([]store.SessionAgg, error) {
	var args []any
	var sqlq string
	if q.Dim == report.Purchaser || q.Dim == report.Vehicle {
		// A row per session: the rollups would have about as many rows.
		key := keyExpr("bucket", q.Periods, &args)
		sqlq = "SELECT " + key + ", " + dimExpr("", q.Dim) + ", currency, COUNT(*), CAST(SUM(energy_wh) AS BIGINT), CAST(SUM(exported_wh) AS BIGINT), " +
			"CAST(SUM(revenue_excl_minor) AS BIGINT), CAST(SUM(revenue_incl_minor) AS BIGINT), CAST(SUM(duration_s) AS BIGINT), CAST(SUM(power_w) AS BIGINT) FROM report_sessions" +
			where(q, &args) + pageFilter(q, &args) + " GROUP BY 1, 2, 3"
		if q.PageLimit > 0 && r.t.db.d.Name == "postgres" {
			// A page walks the (dimension, bucket) index only when the planner sees the range:
			// PostgreSQL's generic plan for a prepared statement (used after five runs) assumes a
			// narrow one, sorts the whole range instead and takes seconds over a year.
			set := "SET LOCAL plan_cache_mode = force_custom_plan"
			if r.t.autocommit { // a View: no transaction block for SET LOCAL to last in
				set = "SET plan_cache_mode = force_custom_plan"
				defer func() { _, _ = r.t.q.ExecContext(context.WithoutCancel(ctx), "RESET plan_cache_mode") }()
			}
			if _, err := r.t.q.ExecContext(ctx, set); err != nil {
				return nil, r.t.db.mapErr("session report", err)
			}
		}
	} else {
		lvl := level(q)
		key := keyExpr("kb", q.Periods, &args)
		inner := planned(q, "report_session_sums", lvl, true, func(int) string {
			return "dim, site_id, tariff_id, currency, sessions, energy_wh, exported_wh, revenue_excl_minor, revenue_incl_minor, duration_s, power_w"
		}, &args)
		sqlq = "SELECT " + key + ", " + dimOut(q.Dim, lvl) + ", currency, " +
			signed("sessions", "energy_wh", "exported_wh", "revenue_excl_minor", "revenue_incl_minor", "duration_s", "power_w") +
			" FROM (" + inner + ") u GROUP BY 1, 2, 3 HAVING SUM(sg * sessions) <> 0" // a period only taken back from has none
	}
	var out []store.SessionAgg
	err := r.query(ctx, "session report", sqlq, args, func(rows *sql.Rows) error {
		var a store.SessionAgg
		err := rows.Scan(&a.Key, &a.Dim, &a.Currency, &a.Sessions, &a.EnergyWh, &a.ExportedWh, &a.RevenueExclMinor, &a.RevenueInclMinor, &a.DurationS, &a.PowerW)
		out = append(out, a)
		return err
	})
	return out, err
}

// pageFilter limits a purchaser or vehicle report on report_sessions to a page of dimension
// values: the first q.PageLimit after q.PageAfter, found by walking the index on
// (dimension, bucket) in order, so a page costs its own rows, not the range's
// (migration 00018).
func pageFilter(q store.ReportQuery, args *[]any) string {
	col, ok := dimCols[q.Dim]
	if q.PageLimit <= 0 || !ok {
		return ""
	}
	sub := " AND " + col + " IN (SELECT " + col + " FROM report_sessions" + where(q, args)
	if q.PageAfterSet {
		sub += " AND " + col + " > ?"
		*args = append(*args, q.PageAfter)
	}
	*args = append(*args, q.PageLimit)
	return sub + " GROUP BY " + col + " ORDER BY " + col + " LIMIT ?)"
}

func (r reports) HourSums(ctx context.Context, q store.ReportQuery) ([]store.HourAgg, error) {
	var args []any
	lvl := level(q)
	dim := dimOut(q.Dim, lvl)
	var sqlq string
	if q.Buckets {
		// Candidate peak hours: every hour row, and of a whole day or month its peak hour.
		sqlq = planned(q, "report_occupancy", lvl, false, func(grain int) string {
			if grain != grainHour {
				return "peak_at AS bucket, " + dim + ", CAST(0 AS BIGINT), peak_wh"
			}
			return "bucket, " + dim + ", CAST(0 AS BIGINT), wh"
		}, &args)
	} else {
		key := keyExpr("kb", q.Periods, &args)
		sqlq = "SELECT " + key + ", " + dim + ", " + signed("occupied_s", "wh") + " FROM (" +
			planned(q, "report_occupancy", lvl, true, func(int) string { return "dim, site_id, occupied_s, wh" }, &args) + ") u GROUP BY 1, 2"
	}
	var out []store.HourAgg
	err := r.query(ctx, "hour report", sqlq, args, func(rows *sql.Rows) error {
		var a store.HourAgg
		err := rows.Scan(&a.Key, &a.Dim, &a.OccupiedS, &a.Wh)
		out = append(out, a)
		return err
	})
	return out, err
}

// hourOf is the SQL of the UTC hour bucket of a Unix µs column.
func hourOf(col string) string { return "(" + col + " / 3600000000 * 3600000000)" }

func (r reports) TopUpSums(ctx context.Context, q store.ReportQuery) ([]store.TopUpAgg, error) {
	var args []any
	lvl := lvlAll
	if q.Dim == report.Purchaser {
		lvl = lvlPurchaser
	}
	q.SiteID, q.StationID = "", "" // top-ups belong to no site
	key := keyExpr("kb", q.Periods, &args)
	sqlq := "SELECT " + key + ", " + dimOut(q.Dim, lvl) + ", currency, " + signed("topups", "amount_minor") + " FROM (" +
		planned(q, "report_topup_sums", lvl, true, func(int) string { return "dim, currency, topups, amount_minor" }, &args) + ") u GROUP BY 1, 2, 3 HAVING SUM(sg * topups) <> 0"
	var out []store.TopUpAgg
	err := r.query(ctx, "top-up report", sqlq, args, func(rows *sql.Rows) error {
		var a store.TopUpAgg
		err := rows.Scan(&a.Key, &a.Dim, &a.Currency, &a.Count, &a.AmountM)
		out = append(out, a)
		return err
	})
	return out, err
}

// DownStatuses are the connector statuses in which nothing can charge.
var DownStatuses = []string{"Faulted", "Unavailable"}

func (r reports) Downtimes(ctx context.Context, q store.ReportQuery) ([]store.Downtime, error) {
	if err := r.t.flushOps(ctx); err != nil {
		return nil, err
	}
	// Down reports are rare, so every one before the range's end is read through
	// status_changes_status and the next report of the same connector looked up by
	// status_changes_station; those that ended before the range are dropped here.
	sqlq := "SELECT s.station_id, st.site_id, s.evse_no, s.connector_no, s.status, s.at, " +
		"(SELECT n.at FROM status_changes n WHERE n.station_id = s.station_id AND n.at > s.at AND n.evse_no = s.evse_no AND n.connector_no = s.connector_no ORDER BY n.at LIMIT 1) " +
		"FROM status_changes s JOIN stations st ON st.id = s.station_id WHERE s.status IN (?, ?) AND s.at < ?"
	args := []any{DownStatuses[0], DownStatuses[1], micros(q.To)}
	if q.SiteID != "" {
		sqlq += " AND st.site_id = ?"
		args = append(args, q.SiteID)
	}
	if q.StationID != "" {
		sqlq += " AND s.station_id = ?"
		args = append(args, q.StationID)
	}
	from := micros(q.From)
	var out []store.Downtime
	err := r.query(ctx, "downtime report", sqlq, args, func(rows *sql.Rows) error {
		var d store.Downtime
		var at int64
		var next sql.NullInt64
		if err := rows.Scan(&d.StationID, &d.SiteID, &d.EVSENo, &d.Connector, &d.Status, &at, &next); err != nil {
			return err
		}
		if next.Valid && next.Int64 <= from {
			return nil
		}
		d.From = time.UnixMicro(at).UTC()
		if next.Valid {
			d.To = time.UnixMicro(next.Int64).UTC()
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

func (r reports) StationSizes(ctx context.Context, q store.ReportQuery) ([]store.StationSize, error) {
	sqlq := "SELECT st.id, st.site_id, (SELECT COUNT(*) FROM evses e WHERE e.station_id = st.id), (SELECT COUNT(*) FROM connectors c WHERE c.station_id = st.id) FROM stations st WHERE 1 = 1"
	var args []any
	if q.SiteID != "" {
		sqlq += " AND st.site_id = ?"
		args = append(args, q.SiteID)
	}
	if q.StationID != "" {
		sqlq += " AND st.id = ?"
		args = append(args, q.StationID)
	}
	var out []store.StationSize
	err := r.query(ctx, "station sizes", sqlq+" ORDER BY st.id", args, func(rows *sql.Rows) error {
		var s store.StationSize
		err := rows.Scan(&s.StationID, &s.SiteID, &s.EVSEs, &s.Connectors)
		out = append(out, s)
		return err
	})
	return out, err
}

func (r reports) SwapSums(ctx context.Context, q store.ReportQuery) ([]store.SwapAgg, error) {
	var args []any
	key := keyExpr(hourOf("o.created_at"), q.Periods, &args)
	dim := "CAST('' AS TEXT)"
	switch q.Dim {
	case report.Site:
		dim = "st.site_id"
	case report.Station:
		dim = "o.station_id"
	case report.Purchaser:
		dim = "o.account_id"
	case report.Vehicle:
		dim = "o.vehicle_id"
	}
	sqlq := "SELECT " + key + ", " + dim + ", COUNT(*) FROM swap_orders o JOIN stations st ON st.id = o.station_id" +
		" WHERE o.status = 'completed' AND o.created_at >= ? AND o.created_at < ?"
	args = append(args, micros(q.From), micros(q.To))
	if q.SiteID != "" {
		sqlq += " AND st.site_id = ?"
		args = append(args, q.SiteID)
	}
	if q.StationID != "" {
		sqlq += " AND o.station_id = ?"
		args = append(args, q.StationID)
	}
	var out []store.SwapAgg
	err := r.query(ctx, "swap report", sqlq+" GROUP BY 1, 2", args, func(rows *sql.Rows) error {
		var a store.SwapAgg
		err := rows.Scan(&a.Key, &a.Dim, &a.Swaps)
		out = append(out, a)
		return err
	})
	return out, err
}

func (r reports) SoHReadings(ctx context.Context, q store.ReportQuery) ([]store.SoHReading, error) {
	sqlq := "SELECT e.battery_id, COALESCE(b.battery_type, ''), e.created_at, e.data FROM battery_events e LEFT JOIN batteries b ON b.id = e.battery_id" +
		" WHERE e.kind = 'soh' AND e.created_at >= ? AND e.created_at < ? ORDER BY e.created_at"
	var out []store.SoHReading
	err := r.query(ctx, "battery SoH report", sqlq, []any{micros(q.From), micros(q.To)}, func(rows *sql.Rows) error {
		var s store.SoHReading
		var at int64
		var data string
		if err := rows.Scan(&s.BatteryID, &s.BatteryType, &at, &data); err != nil {
			return err
		}
		var e struct {
			SoH *float64 `json:"soh_pct"`
		}
		if json.Unmarshal([]byte(data), &e) != nil || e.SoH == nil {
			return nil
		}
		s.At, s.SoHPct = time.UnixMicro(at).UTC(), *e.SoH
		out = append(out, s)
		return nil
	})
	return out, err
}
