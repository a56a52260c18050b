package app

// Reports. Every figure comes from summaries kept up to date in the transaction that ends a
// session (ReportsOnSessionEnd) or posts a top-up (ReportTopUp), or from small indexed reads of
// operational tables. The summaries are rollups per UTC hour, day and calendar month, for
// everything, per site and per station (sqlstore/migrations/00014_report_rollups.sql). A report
// reads months and days that lie in one of its periods whole, and a block that lies mostly in
// one period whole too, taking back the few rows of its other hours and counting them in their
// own periods (report.Periods.Plan): a year without periods is about twenty rows per site, a
// local day in Amsterdam three, in any time zone, with DST.
//
//   - energy, sessions, revenue: one rated fact per ended session, attributed to the hour the
//     session started, summed into report_session_sums (purchaser and vehicle reports read the
//     facts, report_sessions, through a covering index). Revenue excl. VAT is the CDR's
//     total_cost.excl_vat; incl. VAT is what was charged (total_cost.incl_vat, or excl. VAT when
//     the tariff gives no VAT). Average power of a session = energy × 3600 / duration.
//   - utilisation: report_occupancy, the seconds sessions occupied each station's EVSEs per
//     hour (a session's time split over the hours it ran), over hours × EVSEs.
//   - availability: down intervals (Faulted, Unavailable) from status_changes, clipped to the
//     range, over hours × connectors; a station-wide report (connector 0) counts for every
//     connector. Offline time is not in the status history yet, so it is not subtracted.
//   - peak-load: per site, the highest hourly energy (= average power in that hour) from
//     report_occupancy; day and month rows keep their highest hour (maxima are not taken back:
//     they read a tiling of whole rows).
//   - topups: report_topup_sums, the ledger's top-up postings into purchaser accounts.
//   - swaps: completed swap orders; battery-soh: SoH readings in battery history.
//
// Ended sessions and top-ups are never rewritten (a correction is a refund or a credit note,
// which these reports do not count), so the rollups are only ever added to.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
)

// EnableReports makes every ended session feed the report summaries, in the transaction that
// ends it. Call it once per App.
func (a *App) EnableReports() { a.SessionEnded = append(a.SessionEnded, a.ReportsOnSessionEnd) }

// ReportsOnSessionEnd records an ended session in the report summaries (a SessionEnded hook).
// Recording the same session twice changes nothing.
func (a *App) ReportsOnSessionEnd(ctx context.Context, tx store.Tx, s *charging.Session) error {
	if s.StoppedAt == nil {
		return nil
	}
	siteID := ""
	if st, err := tx.Stations().Get(ctx, s.StationID); err == nil {
		siteID = st.SiteID
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	var excl, incl int64
	switch {
	case s.CDRID == "":
	case s.RatedExclMinor != nil && s.CostMinor != nil: // rated by the stop in this process
		excl, incl = *s.RatedExclMinor, *s.CostMinor
	default:
		rec, err := tx.CDRs().Get(ctx, s.CDRID)
		if err != nil {
			return err
		}
		excl, incl = CDRRevenue(rec)
	}
	return tx.Reports().AddSessions(ctx, []store.SessionFact{SessionFact(s, siteID, excl, incl)})
}

// ReportTopUp adds a posted top-up (the money into the purchaser's account) to the report
// rollups, in the transaction that posts it. Call it once, for a posting that was stored.
func ReportTopUp(ctx context.Context, tx store.Tx, lt *account.LedgerTx) error {
	for _, e := range lt.Entries {
		if e.Amount > 0 && !strings.HasPrefix(e.AccountID, "sys_") {
			return tx.Reports().AddTopUp(ctx, store.TopUpFact{LedgerTxID: lt.ID, AccountID: e.AccountID, Currency: e.Currency, At: lt.At, AmountMinor: e.Amount})
		}
	}
	return nil
}

// CDRRevenue is a rated CDR's revenue excl. VAT (total_cost.excl_vat) and incl. VAT (what was
// charged), in minor units.
func CDRRevenue(rec *billing.CDRRecord) (excl, incl int64) {
	var c struct {
		TotalCost *struct {
			Excl json.Number `json:"excl_vat"`
		} `json:"total_cost"`
	}
	dec := json.NewDecoder(strings.NewReader(string(rec.CDR)))
	dec.UseNumber()
	if dec.Decode(&c) != nil || c.TotalCost == nil {
		return rec.TotalMinor, rec.TotalMinor
	}
	d, err := decimal.Parse(c.TotalCost.Excl.String())
	if err != nil {
		return rec.TotalMinor, rec.TotalMinor
	}
	return exclMinor(d, rec), rec.TotalMinor
}

// exclMinor is a CDR's total excl. VAT d in minor units of its currency, or what was charged
// when the currency has no minor units defined.
func exclMinor(d decimal.Decimal, rec *billing.CDRRecord) int64 {
	if m, err := money.FromDecimal(d, rec.Currency); err == nil {
		return m.Minor
	}
	return rec.TotalMinor
}

// SessionFact is an ended session as the report summaries keep it.
func SessionFact(s *charging.Session, siteID string, exclMinor, inclMinor int64) store.SessionFact {
	stop := *s.StoppedAt
	f := store.SessionFact{SessionID: s.ID, StationID: s.StationID, SiteID: siteID, TariffID: s.TariffID, AccountID: s.AccountID,
		VehicleID: s.VehicleID, Currency: s.Currency, Kind: s.Kind, StartedAt: s.StartedAt, StoppedAt: stop,
		EnergyWh: s.EnergyWh, ExportedWh: s.ExportedWh, RevenueExclMinor: exclMinor, RevenueInclMinor: inclMinor}
	if stop.After(s.StartedAt) {
		f.DurationS = int64(stop.Sub(s.StartedAt) / time.Second)
	}
	if f.DurationS > 0 {
		f.PowerW = (s.EnergyWh*3600 + f.DurationS/2) / f.DurationS
	}
	f.Hours = report.Spread(s.StartedAt, stop, s.EnergyWh)
	return f
}

// ReportParams are a report request as the API and CLI take it.
type ReportParams struct {
	Name, From, To, GroupBy, TZ, SiteID, StationID string
	// Paging of purchaser and vehicle groupings (one row per purchaser, so up to one per
	// session): Limit dimension values a page (0: DefaultReportPage, negative: all of them)
	// after the one Cursor names (a Table's Next; "" for the first page). Other groupings are
	// whole and ignore both.
	Limit  int
	Cursor string
}

// Report page sizes of purchaser and vehicle groupings, in dimension values.
const (
	DefaultReportPage = 1000
	MaxReportPage     = 10_000
)

// pagedDims are the dimensions whose reports come in pages.
var pagedDims = map[string]bool{report.Purchaser: true, report.Vehicle: true}

// maxReportRows bounds a report's rows (utilisation and availability list every station in
// every period, with or without use).
const maxReportRows = 200_000

// Report computes a report (viewer).
func (a *App) Report(ctx context.Context, p ReportParams) (*report.Table, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, err
	}
	dims, ok := report.Dims[p.Name]
	if !ok {
		return nil, errs.E(errs.NotFound, "no report %q (reports: %s)", p.Name, strings.Join(report.Names, ", "))
	}
	g, err := report.ParseGrouping(p.GroupBy, dims)
	if err != nil {
		return nil, err
	}
	r, err := report.ParseRange(p.From, p.To, p.TZ, a.now())
	if err != nil {
		return nil, err
	}
	if err := r.Check(g); err != nil {
		return nil, err
	}
	rb := &reportBuilder{g: g, r: r, ps: r.Periods(g.Period)}
	q := store.ReportQuery{From: r.From, To: r.To, Periods: rb.ps, Dim: g.Dim, SiteID: p.SiteID, StationID: p.StationID}
	if pagedDims[g.Dim] {
		if err := rb.pageOf(p); err != nil {
			return nil, err
		}
		if rb.limit > 0 {
			// One value more than the page tells whether another page follows.
			q.PageLimit, q.PageAfter, q.PageAfterSet = rb.limit+1, rb.after, rb.afterSet
		}
	} else if p.Cursor != "" {
		return nil, errs.Field("cursor", "only purchaser and vehicle groupings come in pages")
	}
	var t *report.Table
	err = a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		switch p.Name {
		case report.Energy, report.Sessions, report.Revenue:
			t, err = rb.sessions(ctx, tx, p.Name, q)
		case report.TopUps:
			t, err = rb.topups(ctx, tx, q)
		case report.Utilisation:
			t, err = rb.utilisation(ctx, tx, q)
		case report.Availability:
			t, err = rb.availability(ctx, tx, q)
		case report.PeakLoad:
			t, err = rb.peakLoad(ctx, tx, q)
		case report.Swaps:
			t, err = rb.swaps(ctx, tx, q)
		case report.BatterySoH:
			t, err = rb.batterySoH(ctx, tx, q)
		}
		return err
	})
	if err != nil {
		return nil, errs.Wrap("report "+p.Name, err)
	}
	t.Name = p.Name
	t.Next = rb.next
	return t, nil
}

type reportBuilder struct {
	g  report.Grouping
	r  report.Range
	ps *report.Periods
	// Paging of purchaser and vehicle groupings (limit 0: whole).
	limit    int
	after    string
	afterSet bool
	next     string // the cursor of the next page, "" on the last
}

// pageOf reads the page of a purchaser or vehicle grouping from p.
func (rb *reportBuilder) pageOf(p ReportParams) error {
	switch {
	case p.Limit == 0:
		rb.limit = DefaultReportPage
	case p.Limit < 0:
		rb.limit = 0
	case p.Limit > MaxReportPage:
		return errs.Field("limit", "at most %d", MaxReportPage)
	default:
		rb.limit = p.Limit
	}
	if p.Cursor != "" {
		v, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		if err != nil || len(v) == 0 || v[0] != 'd' {
			return errs.Field("cursor", "not a cursor this report gave")
		}
		rb.after, rb.afterSet = string(v[1:]), true
	}
	return nil
}

// page keeps the groups of the page's dimension values (sorted groups stay sorted) and sets
// the next page's cursor when values remain. Stores may page already (SessionSums does);
// paging again changes nothing then.
func (rb *reportBuilder) page(gs []*group) []*group {
	if rb.limit <= 0 {
		return gs
	}
	var vals []string
	seen := map[string]bool{}
	for _, g := range gs {
		if (!rb.afterSet || g.dim > rb.after) && !seen[g.dim] {
			seen[g.dim] = true
			vals = append(vals, g.dim)
		}
	}
	slices.Sort(vals)
	if len(vals) > rb.limit {
		last := vals[rb.limit-1]
		rb.next = base64.RawURLEncoding.EncodeToString([]byte("d" + last))
		vals = vals[:rb.limit]
	}
	keep := make(map[string]bool, len(vals))
	for _, v := range vals {
		keep[v] = true
	}
	out := gs[:0:0]
	for _, g := range gs {
		if keep[g.dim] {
			out = append(out, g)
		}
	}
	return out
}

var dimColumn = map[string]string{report.Site: "site_id", report.Station: "station_id", report.Tariff: "tariff_id",
	report.Purchaser: "account_id", report.Vehicle: "vehicle_id"}

// keyCols are the leading columns: the period, then the dimension.
func (rb *reportBuilder) keyCols() []report.Column {
	var c []report.Column
	if rb.g.Period != "" {
		c = append(c, report.Column{Name: rb.g.Period, Kind: report.KindString})
	}
	if rb.g.Dim != "" {
		c = append(c, report.Column{Name: dimColumn[rb.g.Dim], Kind: report.KindString})
	}
	return c
}

func (rb *reportBuilder) keyCells(gr *group) []any {
	var c []any
	if rb.g.Period != "" {
		c = append(c, gr.label)
	}
	if rb.g.Dim != "" {
		c = append(c, gr.dim)
	}
	return c
}

// group is one output row being summed: a period label, a dimension value, an extra key
// (currency) and values.
type group struct {
	label, dim, extra string
	order             int64
	v                 []int64
}

// groups rolls rows keyed by period key up to period labels (hours and days are labels
// themselves; weeks and months gather days).
type groups struct {
	ps *report.Periods
	m  map[[3]string]*group
}

func newGroups(ps *report.Periods) *groups { return &groups{ps: ps, m: map[[3]string]*group{}} }

func (gs *groups) at(label string, order int64, dim, extra string, n int) *group {
	k := [3]string{label, dim, extra}
	g := gs.m[k]
	if g == nil {
		g = &group{label: label, dim: dim, extra: extra, order: order, v: make([]int64, n)}
		gs.m[k] = g
	}
	return g
}

func (gs *groups) add(key int64, dim, extra string, vals ...int64) *group {
	label, order := gs.ps.Label(key)
	g := gs.at(label, order, dim, extra, len(vals))
	for i, v := range vals {
		g.v[i] += v
	}
	return g
}

func (gs *groups) sorted() []*group {
	out := make([]*group, 0, len(gs.m))
	for _, g := range gs.m {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *group) int {
		if a.order != b.order {
			return cmpInt(a.order, b.order)
		}
		if c := strings.Compare(a.dim, b.dim); c != 0 {
			return c
		}
		return strings.Compare(a.extra, b.extra)
	})
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func col(name, kind string) report.Column { return report.Column{Name: name, Kind: kind} }

// ratio formats num/den × scale with 2 decimals, rounded half-up ("" when den is 0).
func ratio(num, den, scale int64) string {
	if den == 0 {
		return ""
	}
	n, _ := decimal.New(num*scale, 0)
	d, _ := decimal.New(den, 0)
	q, err := n.Quo(d)
	if err != nil {
		return ""
	}
	return money.RoundHalfUp(q, 2).Pad(2).String()
}

func divRound(num, den int64) int64 {
	if den == 0 {
		return 0
	}
	return (num + den/2) / den
}

func (rb *reportBuilder) sessions(ctx context.Context, tx store.Tx, name string, q store.ReportQuery) (*report.Table, error) {
	aggs, err := tx.Reports().SessionSums(ctx, q)
	if err != nil {
		return nil, err
	}
	gs := newGroups(rb.ps)
	byCur := name == report.Revenue
	for _, a := range aggs {
		extra := ""
		if byCur {
			extra = a.Currency
		}
		gs.add(a.Key, a.Dim, extra, a.Sessions, a.EnergyWh, a.ExportedWh, a.RevenueExclMinor, a.RevenueInclMinor, a.DurationS, a.PowerW)
	}
	t := &report.Table{Columns: rb.keyCols(), Totals: map[string]any{}}
	var tot [7]int64
	curTot := map[string]*[3]int64{}
	for _, g := range rb.page(gs.sorted()) {
		for i, v := range g.v {
			tot[i] += v
		}
		row := rb.keyCells(g)
		switch name {
		case report.Energy:
			row = append(row, g.v[0], g.v[1], g.v[2])
		case report.Sessions:
			row = append(row, g.v[0], g.v[5], divRound(g.v[5], g.v[0]), divRound(g.v[6], g.v[0]), g.v[1])
		case report.Revenue:
			row = append(row, g.extra, g.v[0], money.FormatMinor(g.v[3], g.extra), money.FormatMinor(g.v[4], g.extra))
			c := curTot[g.extra]
			if c == nil {
				c = new([3]int64)
				curTot[g.extra] = c
			}
			c[0] += g.v[0]
			c[1] += g.v[3]
			c[2] += g.v[4]
		}
		t.Rows = append(t.Rows, row)
	}
	t.Totals["sessions"] = tot[0]
	switch name {
	case report.Energy:
		t.Columns = append(t.Columns, col("sessions", report.KindInt), col("energy_wh", report.KindInt), col("exported_wh", report.KindInt))
		t.Totals["energy_wh"], t.Totals["exported_wh"] = tot[1], tot[2]
	case report.Sessions:
		t.Columns = append(t.Columns, col("sessions", report.KindInt), col("duration_s", report.KindInt), col("avg_duration_s", report.KindInt),
			col("avg_power_w", report.KindInt), col("energy_wh", report.KindInt))
		t.Totals["duration_s"], t.Totals["avg_duration_s"], t.Totals["avg_power_w"], t.Totals["energy_wh"] = tot[5], divRound(tot[5], tot[0]), divRound(tot[6], tot[0]), tot[1]
	case report.Revenue:
		t.Columns = append(t.Columns, col("currency", report.KindString), col("sessions", report.KindInt),
			col("revenue_excl_vat", report.KindDecimal), col("revenue_incl_vat", report.KindDecimal))
		t.Totals["by_currency"] = currencyTotals(curTot, "sessions", "revenue_excl_vat", "revenue_incl_vat")
	}
	return t, nil
}

// currencyTotals are money totals per currency: {"EUR": {"sessions": 3, "revenue_excl_vat": "1.00", …}}.
func currencyTotals(m map[string]*[3]int64, countName, a, b string) map[string]any {
	out := map[string]any{}
	for cur, v := range m {
		e := map[string]any{countName: v[0], a: money.FormatMinor(v[1], cur)}
		if b != "" {
			e[b] = money.FormatMinor(v[2], cur)
		}
		out[cur] = e
	}
	return out
}

func (rb *reportBuilder) topups(ctx context.Context, tx store.Tx, q store.ReportQuery) (*report.Table, error) {
	aggs, err := tx.Reports().TopUpSums(ctx, q)
	if err != nil {
		return nil, err
	}
	gs := newGroups(rb.ps)
	for _, a := range aggs {
		gs.add(a.Key, a.Dim, a.Currency, a.Count, a.AmountM)
	}
	t := &report.Table{Columns: append(rb.keyCols(), col("currency", report.KindString), col("topups", report.KindInt), col("amount", report.KindDecimal))}
	curTot := map[string]*[3]int64{}
	var n int64
	for _, g := range rb.page(gs.sorted()) {
		t.Rows = append(t.Rows, append(rb.keyCells(g), g.extra, g.v[0], money.FormatMinor(g.v[1], g.extra)))
		c := curTot[g.extra]
		if c == nil {
			c = new([3]int64)
			curTot[g.extra] = c
		}
		c[0] += g.v[0]
		c[1] += g.v[1]
		n += g.v[0]
	}
	t.Totals = map[string]any{"topups": n, "by_currency": currencyTotals(curTot, "topups", "amount", "")}
	return t, nil
}

// stationSizes returns the stations in scope and, per dimension value of dim (site, station,
// "" = all), the number of EVSEs and connectors (at least 1 each per station: a station whose
// EVSEs are not registered still counts as one).
func stationSizes(ctx context.Context, tx store.Tx, q store.ReportQuery) ([]store.StationSize, map[string]*[2]int64, error) {
	ss, err := tx.Reports().StationSizes(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	m := map[string]*[2]int64{}
	for _, s := range ss {
		k := dimOf(q.Dim, s.SiteID, s.StationID)
		v := m[k]
		if v == nil {
			v = new([2]int64)
			m[k] = v
		}
		v[0] += max(s.EVSEs, 1)
		v[1] += max(s.Connectors, 1)
	}
	return ss, m, nil
}

func dimOf(dim, site, station string) string {
	switch dim {
	case report.Site:
		return site
	case report.Station:
		return station
	}
	return ""
}

// everyRow makes sure each period × dimension value has a row, used or not.
func (rb *reportBuilder) everyRow(gs *groups, hours map[string]int64, sizes map[string]*[2]int64, n int) error {
	if len(hours)*len(sizes) > maxReportRows {
		return errs.Field("group_by", "the report would have more than %d rows: narrow the range, group by a longer period or by site", maxReportRows)
	}
	periods := map[string]int64{} // label → order: each period once, not each hour × dimension value
	for b := rb.r.From.UnixMicro(); b < rb.r.To.UnixMicro(); b += int64(time.Hour / time.Microsecond) {
		label, order := rb.ps.BucketLabel(b)
		periods[label] = order
	}
	for label, order := range periods {
		for d := range sizes {
			gs.at(label, order, d, "", n)
		}
	}
	return nil
}

func (rb *reportBuilder) utilisation(ctx context.Context, tx store.Tx, q store.ReportQuery) (*report.Table, error) {
	_, sizes, err := stationSizes(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	hours := rb.ps.Hours()
	gs := newGroups(rb.ps)
	if err := rb.everyRow(gs, hours, sizes, 1); err != nil {
		return nil, err
	}
	aggs, err := tx.Reports().HourSums(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, a := range aggs {
		if sizes[a.Dim] != nil {
			gs.add(a.Key, a.Dim, "", a.OccupiedS)
		}
	}
	t := &report.Table{Columns: append(rb.keyCols(), col("evses", report.KindInt), col("hours", report.KindInt),
		col("occupied_hours", report.KindDecimal), col("utilisation_pct", report.KindDecimal))}
	var occ, cap int64
	for _, g := range gs.sorted() {
		e, h := sizes[g.dim][0], hours[g.label]
		t.Rows = append(t.Rows, append(rb.keyCells(g), e, h, ratio(g.v[0], 3600, 1), ratio(g.v[0], h*3600*e, 100)))
		occ += g.v[0]
		cap += h * 3600 * e
	}
	t.Totals = map[string]any{"occupied_hours": ratio(occ, 3600, 1), "utilisation_pct": ratio(occ, cap, 100)}
	return t, nil
}

func (rb *reportBuilder) availability(ctx context.Context, tx store.Tx, q store.ReportQuery) (*report.Table, error) {
	ss, sizes, err := stationSizes(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	conns := map[string]int64{}
	for _, s := range ss {
		conns[s.StationID] = max(s.Connectors, 1)
	}
	hours := rb.ps.Hours()
	gs := newGroups(rb.ps)
	if err := rb.everyRow(gs, hours, sizes, 1); err != nil {
		return nil, err
	}
	downs, err := tx.Reports().Downtimes(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, d := range downs {
		w := int64(1)
		if d.Connector == 0 && d.EVSENo == 0 {
			w = conns[d.StationID]
		}
		from, to := d.From, d.To
		if from.Before(rb.r.From) {
			from = rb.r.From
		}
		if to.IsZero() || to.After(rb.r.To) {
			to = rb.r.To
		}
		dim := dimOf(q.Dim, d.SiteID, d.StationID)
		if sizes[dim] == nil {
			continue
		}
		for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
			a, b := h, h.Add(time.Hour)
			if a.Before(from) {
				a = from
			}
			if b.After(to) {
				b = to
			}
			gs.add(rb.ps.Key(h.UnixMicro()), dim, "", w*int64(b.Sub(a)/time.Second))
		}
	}
	t := &report.Table{Columns: append(rb.keyCols(), col("connectors", report.KindInt), col("hours", report.KindInt),
		col("down_hours", report.KindDecimal), col("availability_pct", report.KindDecimal))}
	var down, cap int64
	for _, g := range gs.sorted() {
		c, h := sizes[g.dim][1], hours[g.label]
		dn := min(g.v[0], h*3600*c) // overlapping station- and connector-wide reports count once at most
		t.Rows = append(t.Rows, append(rb.keyCells(g), c, h, ratio(dn, 3600, 1), ratio(h*3600*c-dn, h*3600*c, 100)))
		down += dn
		cap += h * 3600 * c
	}
	t.Totals = map[string]any{"down_hours": ratio(down, 3600, 1), "availability_pct": ratio(cap-down, cap, 100)}
	return t, nil
}

func (rb *reportBuilder) peakLoad(ctx context.Context, tx store.Tx, q store.ReportQuery) (*report.Table, error) {
	q.Dim, q.Buckets = report.Site, true
	aggs, err := tx.Reports().HourSums(ctx, q)
	if err != nil {
		return nil, err
	}
	limits := map[string]int64{}
	for cursor := ""; ; {
		sites, next, err := tx.Sites().List(ctx, store.Query{Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, s := range sites {
			if s.GridLimitKW != nil {
				limits[s.ID] = int64(*s.GridLimitKW)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	gs := newGroups(rb.ps)
	for _, a := range aggs {
		label, order := rb.ps.BucketLabel(a.Key)
		g := gs.at(label, order, a.Dim, "", 2)
		// An hour's Wh is its average power in W. Ties keep the earliest hour.
		if a.Wh > g.v[0] || (a.Wh == g.v[0] && (g.v[1] == 0 || a.Key < g.v[1])) {
			g.v[0], g.v[1] = a.Wh, a.Key
		}
	}
	cols := []report.Column{}
	if rb.g.Period != "" {
		cols = append(cols, col(rb.g.Period, report.KindString))
	}
	t := &report.Table{Columns: append(cols, col("site_id", report.KindString), col("peak_load_w", report.KindInt), col("peak_hour", report.KindString),
		col("grid_limit_w", report.KindInt), col("peak_pct_of_limit", report.KindDecimal))}
	var peak int64
	for _, g := range gs.sorted() {
		var row []any
		if rb.g.Period != "" {
			row = append(row, g.label)
		}
		lim := limits[g.dim]
		var limit any = nil
		if _, ok := limits[g.dim]; ok {
			limit = lim
		}
		t.Rows = append(t.Rows, append(row, g.dim, g.v[0], time.UnixMicro(g.v[1]).UTC().Format(time.RFC3339), limit, ratio(g.v[0], lim, 100)))
		peak = max(peak, g.v[0])
	}
	t.Totals = map[string]any{"peak_load_w": peak}
	return t, nil
}

func (rb *reportBuilder) swaps(ctx context.Context, tx store.Tx, q store.ReportQuery) (*report.Table, error) {
	aggs, err := tx.Reports().SwapSums(ctx, q)
	if err != nil {
		return nil, err
	}
	gs := newGroups(rb.ps)
	for _, a := range aggs {
		gs.add(a.Key, a.Dim, "", a.Swaps)
	}
	t := &report.Table{Columns: append(rb.keyCols(), col("swaps", report.KindInt))}
	var n int64
	for _, g := range rb.page(gs.sorted()) {
		t.Rows = append(t.Rows, append(rb.keyCells(g), g.v[0]))
		n += g.v[0]
	}
	t.Totals = map[string]any{"swaps": n}
	return t, nil
}

// batterySoH is the SoH trend per period and battery type: readings, batteries read, average
// and lowest SoH (%).
func (rb *reportBuilder) batterySoH(ctx context.Context, tx store.Tx, q store.ReportQuery) (*report.Table, error) {
	rs, err := tx.Reports().SoHReadings(ctx, q)
	if err != nil {
		return nil, err
	}
	type acc struct {
		n        int64
		sum, low float64
		bats     map[string]bool
	}
	gs := newGroups(rb.ps)
	accs := map[*group]*acc{}
	for _, r := range rs {
		label, order := rb.ps.BucketLabel(report.Bucket(r.At))
		g := gs.at(label, order, r.BatteryType, "", 0)
		a := accs[g]
		if a == nil {
			a = &acc{low: r.SoHPct, bats: map[string]bool{}}
			accs[g] = a
		}
		a.n++
		a.sum += r.SoHPct
		a.low = min(a.low, r.SoHPct)
		a.bats[r.BatteryID] = true
	}
	var cols []report.Column
	if rb.g.Period != "" {
		cols = append(cols, col(rb.g.Period, report.KindString))
	}
	t := &report.Table{Columns: append(cols, col("battery_type", report.KindString), col("readings", report.KindInt), col("batteries", report.KindInt),
		col("avg_soh_pct", report.KindDecimal), col("min_soh_pct", report.KindDecimal))}
	var n int64
	for _, g := range gs.sorted() {
		a := accs[g]
		var row []any
		if rb.g.Period != "" {
			row = append(row, g.label)
		}
		t.Rows = append(t.Rows, append(row, g.dim, a.n, int64(len(a.bats)), strconv.FormatFloat(a.sum/float64(a.n), 'f', 2, 64), strconv.FormatFloat(a.low, 'f', 2, 64)))
		n += a.n
	}
	t.Totals = map[string]any{"readings": n}
	return t, nil
}

// ReportFileName is a download name for a report: evcs-energy-2026-03-01-2026-04-01.csv.
func ReportFileName(name, from, to, format string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' {
				return r
			}
			return -1
		}, s)
	}
	return fmt.Sprintf("evcs-%s-%s-%s.%s", clean(name), clean(from), clean(to), format)
}
