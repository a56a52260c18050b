package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	chg "github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// reportTariff: start fee 0.35 and 0.29/kWh at 21 % VAT.
const reportTariff = `{"currency":"EUR","elements":[{"price_components":[{"type":"FLAT","price":0.35,"vat":21,"step_size":1},{"type":"ENERGY","price":0.29,"vat":21,"step_size":1}]}]}`

// TestReportsMatchRawData drives real sessions (started, metered, stopped, rated) across the
// spring DST change in Amsterdam, top-ups and a fault, then checks every report figure
// against sums computed here from the raw sessions, CDRs, ledger and status history.
func TestReportsMatchRawData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		clock := &invClock{t: time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)}
		a := app.New(s, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
		t.Cleanup(a.Close)
		a.EnableReports()
		admin := app.WithActor(ctx, app.System)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		tar, err := a.CreateTariff(ctx, []byte(reportTariff))
		must(err)
		limit := energy.KW(50000)
		siteA, err := app.Create(ctx, a, app.Sites, asset.SiteFields{Name: "A", TimeZone: "Europe/Amsterdam", DefaultTariffID: tar.ID, GridLimitKW: &limit})
		must(err)
		siteB, err := app.Create(ctx, a, app.Sites, asset.SiteFields{Name: "B", TimeZone: "Europe/Amsterdam", DefaultTariffID: tar.ID})
		must(err)
		stations := map[string]string{"CP-1": siteA.ID, "CP-2": siteA.ID, "CP-3": siteB.ID}
		for _, id := range []string{"CP-1", "CP-2", "CP-3"} {
			_, err := app.Create(ctx, a, app.Stations, app.StationInput{ID: id, StationFields: asset.StationFields{SiteID: stations[id], Kind: asset.KindAC}})
			must(err)
		}
		for _, n := range []int{1, 2} { // CP-1 has two EVSEs, each with a connector
			e, err := app.Create(ctx, a, app.EVSEs, asset.EVSEFields{StationID: "CP-1", EVSENo: n})
			must(err)
			_, err = app.Create(ctx, a, app.Connectors, asset.ConnectorFields{EVSEID: e.ID, ConnectorNo: 1, Type: "IEC_62196_T2"})
			must(err)
		}
		var accts []string
		for i := range 4 {
			u, err := app.Create(ctx, a, app.Users, app.UserInput{UserFields: account.UserFields{Name: fmt.Sprintf("P%d", i), Email: fmt.Sprintf("p%d@example.com", i), Role: account.RolePurchaser}})
			must(err)
			accts = append(accts, u.AccountID)
			_, err = app.Create(ctx, a, app.IdTokens, account.IdTokenFields{UID: fmt.Sprintf("TOK%d", i), Type: "ISO14443", AccountID: u.AccountID})
			must(err)
			for k := range i + 1 {
				clock.Set(time.Date(2026, 3, 27+k, 22, 30, 0, 0, time.UTC)) // 23:30 local: the next local day in UTC+2 after the 29th
				_, err := a.TopUp(admin, u.AccountID, app.TopUpInput{Amount: fmt.Sprintf("%d.50", 100+10*i+k), Currency: "EUR", Method: "counter"}, fmt.Sprintf("k%d-%d", i, k))
				must(err)
			}
		}
		rng := rand.New(rand.NewPCG(7, 9))
		at := time.Date(2026, 3, 27, 6, 13, 0, 0, time.UTC)
		meter := map[string]int64{}
		for i := range 36 {
			st := []string{"CP-1", "CP-2", "CP-3"}[i%3]
			evse := 1 + (i/3)%2
			if st != "CP-1" {
				evse = 1
			}
			start := at.Add(time.Duration(i) * 2 * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second)
			dur := time.Duration(600+rng.IntN(9000)) * time.Second
			key := fmt.Sprintf("%s/%d", st, evse)
			wh := int64(1000 + rng.IntN(30000))
			clock.Set(start)
			ses, _, err := a.StartSession(ctx, app.StartInput{StationID: st, EVSENo: evse, IdToken: fmt.Sprintf("TOK%d", i%4), MeterStart: meter[key], At: start})
			must(err)
			clock.Set(start.Add(dur))
			_, _, err = a.StopSession(ctx, app.StopInput{StationID: st, TxRef: ses.TxRef, MeterStop: meter[key] + wh, At: start.Add(dur)})
			must(err)
			meter[key] += wh
		}
		// CP-2 faulted for 5 h 20 min over the DST night; CP-3 station-wide unavailable from before the range.
		must(a.Status(ctx, chg.StatusChange{StationID: "CP-2", EVSENo: 1, ConnectorNo: 1, Status: "Faulted", At: time.Date(2026, 3, 28, 22, 40, 0, 0, time.UTC)}))
		must(a.Status(ctx, chg.StatusChange{StationID: "CP-2", EVSENo: 1, ConnectorNo: 1, Status: "Available", At: time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC)}))
		must(a.Status(ctx, chg.StatusChange{StationID: "CP-3", Status: "Unavailable", At: time.Date(2026, 3, 26, 12, 0, 0, 0, time.UTC)}))
		must(a.Status(ctx, chg.StatusChange{StationID: "CP-3", Status: "Available", At: time.Date(2026, 3, 27, 1, 0, 0, 0, time.UTC)}))

		// The raw data, read back.
		loc, _ := time.LoadLocation("Europe/Amsterdam")
		from, to := time.Date(2026, 3, 27, 0, 0, 0, 0, loc), time.Date(2026, 3, 31, 0, 0, 0, 0, loc)
		type raw struct {
			s          chg.Session
			excl, incl int64
		}
		var sessions []raw
		must(s.View(ctx, func(tx store.Tx) error {
			for cur := ""; ; {
				page, next, err := tx.Sessions().List(ctx, store.Query{Limit: 500, Cursor: cur})
				if err != nil {
					return err
				}
				for _, ses := range page {
					rec, err := tx.CDRs().Get(ctx, ses.CDRID)
					if err != nil {
						return err
					}
					var c struct {
						TotalCost struct {
							Excl json.Number `json:"excl_vat"`
						} `json:"total_cost"`
					}
					d := json.NewDecoder(strings.NewReader(string(rec.CDR)))
					d.UseNumber()
					if err := d.Decode(&c); err != nil {
						return err
					}
					sessions = append(sessions, raw{ses, minorOf(t, c.TotalCost.Excl.String()), rec.TotalMinor})
				}
				if next == "" {
					return nil
				}
				cur = next
			}
		}))
		if len(sessions) != 36 {
			t.Fatalf("%d sessions", len(sessions))
		}
		run := func(name, groupBy string) *report.Table {
			t.Helper()
			tb, err := a.Report(admin, app.ReportParams{Name: name, From: "2026-03-27", To: "2026-03-31", GroupBy: groupBy, TZ: "Europe/Amsterdam"})
			must(err)
			return tb
		}
		rowsBy := func(tb *report.Table, keyCols int) map[string][]any {
			m := map[string][]any{}
			for _, r := range tb.Rows {
				var k []string
				for _, c := range r[:keyCols] {
					k = append(k, fmt.Sprint(c))
				}
				m[strings.Join(k, "|")] = r[keyCols:]
			}
			return m
		}

		// energy by local day: DST day 29 March has 23 hours; sessions counted on the local day they started.
		want := map[string][3]int64{}
		for _, r := range sessions {
			if r.s.StartedAt.Before(from) || !r.s.StartedAt.Before(to) {
				continue
			}
			d := r.s.StartedAt.In(loc).Format(time.DateOnly)
			w := want[d]
			w[0]++
			w[1] += r.s.EnergyWh
			w[2] += r.s.ExportedWh
			want[d] = w
		}
		got := rowsBy(run(report.Energy, "day"), 1)
		if len(got) != len(want) {
			t.Errorf("energy days: got %v, want %v", got, want)
		}
		for d, w := range want {
			if g := got[d]; g == nil || g[0] != w[0] || g[1] != w[1] || g[2] != w[2] {
				t.Errorf("energy %s: got %v, want %v", d, g, w)
			}
		}

		// revenue by station, per currency.
		type rev struct{ n, excl, incl int64 }
		wantRev := map[string]rev{}
		for _, r := range sessions {
			if r.s.StartedAt.Before(from) || !r.s.StartedAt.Before(to) {
				continue
			}
			v := wantRev[r.s.StationID+"|EUR"]
			v.n++
			v.excl += r.excl
			v.incl += r.incl
			wantRev[r.s.StationID+"|EUR"] = v
		}
		gotRev := rowsBy(run(report.Revenue, "station"), 2)
		for k, w := range wantRev {
			g := gotRev[k]
			if g == nil || g[0] != w.n || g[1] != fmtMinor(w.excl) || g[2] != fmtMinor(w.incl) {
				t.Errorf("revenue %s: got %v, want %+v", k, g, w)
			}
			if w.excl == w.incl {
				t.Errorf("revenue %s: VAT missing", k)
			}
		}

		// sessions by week × purchaser: average length and power.
		type sess struct{ n, dur, pw, wh int64 }
		wantSes := map[string]sess{}
		for _, r := range sessions {
			if r.s.StartedAt.Before(from) || !r.s.StartedAt.Before(to) {
				continue
			}
			y, w := r.s.StartedAt.In(loc).ISOWeek()
			k := fmt.Sprintf("%04d-W%02d|%s", y, w, r.s.AccountID)
			v := wantSes[k]
			d := int64(r.s.StoppedAt.Sub(r.s.StartedAt) / time.Second)
			v.n++
			v.dur += d
			v.pw += (r.s.EnergyWh*3600 + d/2) / d
			v.wh += r.s.EnergyWh
			wantSes[k] = v
		}
		gotSes := rowsBy(run(report.Sessions, "week,purchaser"), 2)
		if len(gotSes) != len(wantSes) {
			t.Errorf("sessions: %d rows, want %d", len(gotSes), len(wantSes))
		}
		for k, w := range wantSes {
			g := gotSes[k]
			if g == nil || g[0] != w.n || g[1] != w.dur || g[2] != (w.dur+w.n/2)/w.n || g[3] != (w.pw+w.n/2)/w.n || g[4] != w.wh {
				t.Errorf("sessions %s: got %v, want %+v", k, g, w)
			}
		}

		// Purchaser groupings come in pages of purchasers, in id order; the pages together are
		// the whole report, and each page's totals are its own rows'.
		for _, groupBy := range []string{"week,purchaser", "purchaser", "vehicle"} {
			whole, err := a.Report(admin, app.ReportParams{Name: report.Sessions, From: "2026-03-27", To: "2026-03-31", GroupBy: groupBy, TZ: "Europe/Amsterdam", Limit: -1})
			must(err)
			if whole.Next != "" {
				t.Errorf("%s: a whole report has a next page", groupBy)
			}
			var paged [][]any
			dims := map[string]bool{}
			last, pages := "", 0
			for cur := ""; ; pages++ {
				pg, err := a.Report(admin, app.ReportParams{Name: report.Sessions, From: "2026-03-27", To: "2026-03-31", GroupBy: groupBy, TZ: "Europe/Amsterdam", Limit: 1, Cursor: cur})
				must(err)
				dimCol := len(pg.Columns) - 6 // the dimension precedes the 5 figures
				var n int64
				pageDims := map[string]bool{}
				for _, r := range pg.Rows {
					d := r[dimCol].(string)
					pageDims[d] = true
					if dims[d] || d <= last && pages > 0 {
						t.Errorf("%s page %d: %s again or out of order", groupBy, pages, d)
					}
					n += r[dimCol+1].(int64)
				}
				for d := range pageDims {
					dims[d], last = true, max(last, d)
				}
				if len(pageDims) != 1 || pg.Totals["sessions"] != n {
					t.Errorf("%s page %d: purchasers %v, totals %v, want one and %d sessions", groupBy, pages, pageDims, pg.Totals, n)
				}
				paged = append(paged, pg.Rows...)
				if pg.Next == "" {
					break
				}
				cur = pg.Next
			}
			if pages+1 != len(dims) || len(paged) != len(whole.Rows) {
				t.Errorf("%s: %d pages of %d rows, want a page per purchaser (%d) and %d rows", groupBy, pages+1, len(paged), len(dims), len(whole.Rows))
			}
			got, want := rowsBy(&report.Table{Rows: paged}, len(whole.Columns)-5), rowsBy(whole, len(whole.Columns)-5)
			for k, w := range want {
				if fmt.Sprint(got[k]) != fmt.Sprint(w) {
					t.Errorf("%s %s: paged %v, whole %v", groupBy, k, got[k], w)
				}
			}
		}
		if len(accts) < 4 {
			t.Fatal("fewer purchasers than the paging check needs")
		}
		for _, p := range []app.ReportParams{
			{Name: report.Energy, GroupBy: "purchaser", Cursor: "not-a-cursor"},
			{Name: report.Energy, GroupBy: "purchaser", Limit: app.MaxReportPage + 1},
			{Name: report.Energy, GroupBy: "station", Cursor: "ZA"},
		} {
			if _, err := a.Report(admin, p); errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) == "" {
				t.Errorf("%+v: %v, want an invalid field", p, err)
			}
		}

		// top-ups by purchaser over the range (the 23:30 local top-ups fall in the range's days).
		wantTop := map[string][2]int64{}
		must(s.View(ctx, func(tx store.Tx) error {
			for _, acc := range accts {
				es, _, err := tx.Ledger().Entries(ctx, acc, store.Query{Limit: 500})
				if err != nil {
					return err
				}
				for _, e := range es {
					if e.Kind == "topup" && !e.At.Before(from) && e.At.Before(to) {
						w := wantTop[acc]
						w[0]++
						w[1] += e.Amount
						wantTop[acc] = w
					}
				}
			}
			return nil
		}))
		gotTop := rowsBy(run(report.TopUps, "purchaser"), 1)
		for acc, w := range wantTop {
			if g := gotTop[acc]; g == nil || g[0] != "EUR" || g[1] != w[0] || g[2] != fmtMinor(w[1]) {
				t.Errorf("top-ups %s: got %v, want %v", acc, g, w)
			}
		}

		// utilisation by station: occupied seconds within the range over hours × EVSEs.
		hours := int64(to.Sub(from) / time.Hour) // 95: one hour lost to DST
		if hours != 95 {
			t.Fatalf("hours %d", hours)
		}
		occ := map[string]int64{}
		for _, r := range sessions {
			a, b := r.s.StartedAt, *r.s.StoppedAt
			if a.Before(from) {
				a = from
			}
			if b.After(to) {
				b = to
			}
			if b.After(a) {
				occ[r.s.StationID] += int64(b.Sub(a) / time.Second)
			}
		}
		gotUtil := rowsBy(run(report.Utilisation, "station"), 1)
		evses := map[string]int64{"CP-1": 2, "CP-2": 1, "CP-3": 1}
		for st, o := range occ {
			g := gotUtil[st]
			// Hour shares are whole seconds: at most a second lost per hour a session touches.
			if g == nil || g[0] != evses[st] || g[1] != hours || absDiff(hoursToSec(t, g[2].(string)), o) > 36 ||
				g[3] != pct(o, hours*3600*evses[st]) && absDiff(hoursToSec(t, g[2].(string)), o) == 0 {
				t.Errorf("utilisation %s: got %v, want occupied %d s of %d h × %d", st, g, o, hours, evses[st])
			}
		}

		// availability by station: CP-2 down 5 h 20 min; CP-3's station-wide outage overlaps the range by 1 h (00:00–01:00 UTC = 01:00–02:00 local).
		gotAv := rowsBy(run(report.Availability, "station"), 1)
		for st, down := range map[string]int64{"CP-1": 0, "CP-2": 5*3600 + 20*60, "CP-3": 2 * 3600} {
			conns := map[string]int64{"CP-1": 2, "CP-2": 1, "CP-3": 1}[st]
			g := gotAv[st]
			if g == nil || g[0] != conns || g[1] != hours || g[3] != pct(hours*3600*conns-down, hours*3600*conns) {
				t.Errorf("availability %s: got %v, want down %d s", st, g, down)
			}
		}
		// The range starts at local midnight 27 March = 23:00 UTC on the 26th: CP-3 was down 2 h of it.
		if g := gotAv["CP-3"]; g == nil || g[2] != "2.00" {
			t.Errorf("availability CP-3: got %v, want 2.00 down hours", g)
		}

		// peak-load by site: highest hourly energy (energy spread over a session's hours by time).
		spread := map[string]map[int64]float64{}
		for _, r := range sessions {
			site := stations[r.s.StationID]
			if spread[site] == nil {
				spread[site] = map[int64]float64{}
			}
			total := r.s.StoppedAt.Sub(r.s.StartedAt).Seconds()
			for h := r.s.StartedAt.Truncate(time.Hour); h.Before(*r.s.StoppedAt); h = h.Add(time.Hour) {
				a, b := maxTime(h, r.s.StartedAt), minTime(h.Add(time.Hour), *r.s.StoppedAt)
				if !h.Before(from) && h.Before(to) {
					spread[site][h.UnixMicro()] += float64(r.s.EnergyWh) * b.Sub(a).Seconds() / total
				}
			}
		}
		gotPeak := rowsBy(run(report.PeakLoad, ""), 1)
		for site, hs := range spread {
			var peak float64
			for _, v := range hs {
				peak = max(peak, v)
			}
			g := gotPeak[site]
			if g == nil || absDiff(g[0].(int64), int64(peak+0.5)) > 2 {
				t.Errorf("peak %s: got %v, want %.1f", site, g, peak)
			}
			if site == siteA.ID && (g[2] != int64(50000) || g[3] != pct(g[0].(int64), 50000)) {
				t.Errorf("peak %s vs limit: %v", site, g)
			}
		}

		// Every report's JSON is readable; CSV has a header and a line per row.
		for _, name := range report.Names {
			tb := run(name, "")
			b, err := json.Marshal(tb)
			must(err)
			var back struct {
				Columns []map[string]string `json:"columns"`
				Rows    []map[string]any    `json:"rows"`
			}
			must(json.Unmarshal(b, &back))
			if len(back.Rows) != len(tb.Rows) || len(back.Columns) != len(tb.Columns) {
				t.Errorf("%s JSON: %s", name, b)
			}
		}
	})
}

// TestReportBadParams: each bad parameter is an Invalid error naming it.
func TestReportBadParams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		a := app.New(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		t.Cleanup(a.Close)
		ctx := app.WithActor(context.Background(), app.System)
		for _, c := range []struct {
			p     app.ReportParams
			field string
		}{
			{app.ReportParams{Name: "energy", GroupBy: "fortnight"}, "group_by"},
			{app.ReportParams{Name: "energy", GroupBy: "day,week"}, "group_by"},
			{app.ReportParams{Name: "topups", GroupBy: "station"}, "group_by"},
			{app.ReportParams{Name: "energy", TZ: "Mars/Olympus"}, "tz"},
			{app.ReportParams{Name: "energy", From: "yesterday"}, "from"},
			{app.ReportParams{Name: "energy", From: "2026-03-02", To: "2026-03-01"}, "to"},
			{app.ReportParams{Name: "energy", From: "2024-01-01", To: "2026-03-01"}, "to"},
			{app.ReportParams{Name: "energy", From: "2026-01-01", To: "2026-03-01", GroupBy: "hour"}, "group_by"},
		} {
			_, err := a.Report(ctx, c.p)
			if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != c.field {
				t.Errorf("%+v: %v (field %q), want invalid %s", c.p, err, errs.FieldOf(err), c.field)
			}
		}
		if _, err := a.Report(ctx, app.ReportParams{Name: "nope"}); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown report: %v", err)
		}
		purchaser := app.WithActor(context.Background(), app.Actor{UserID: "u", Role: account.RolePurchaser})
		if _, err := a.Report(purchaser, app.ReportParams{Name: "energy"}); errs.KindOf(err) != errs.Forbidden {
			t.Errorf("purchaser: %v", err)
		}
	})
}

func minorOf(t *testing.T, dec string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(dec, ".")
	frac = (frac + "00")[:2]
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		t.Fatalf("amount %q", dec)
	}
	return v
}

func fmtMinor(m int64) string { return fmt.Sprintf("%d.%02d", m/100, m%100) }

func pct(num, den int64) string {
	v := (num*10000*2 + den) / (2 * den) // half-up, in hundredths of a percent
	return fmt.Sprintf("%d.%02d", v/100, v%100)
}

func hoursToSec(t *testing.T, h string) int64 { return minorOf(t, h) * 36 }

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
