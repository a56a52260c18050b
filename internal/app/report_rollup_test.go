package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	chg "github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestReportRollupsMatchRawData drives ten weeks of sessions over two sites, three stations and
// two tariffs, across month ends and the autumn DST change, and top-ups, then checks reports
// that read the hourly and daily rollups (months, weeks, whole ranges, site and station
// filters, in Amsterdam, New York and UTC) against sums computed here from the raw sessions,
// CDRs and ledger. Replayed session ends change nothing, and rolling migration 00014 back and
// forth (its back-fill) rebuilds the same figures.
func TestReportRollupsMatchRawData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		clock := &invClock{t: time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)}
		a := app.New(s, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
		t.Cleanup(a.Close)
		admin := app.WithActor(ctx, app.System)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		tarA, err := a.CreateTariff(ctx, []byte(reportTariff))
		must(err)
		tarB, err := a.CreateTariff(ctx, []byte(`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.41,"vat":21,"step_size":1}]}]}`))
		must(err)
		limit := energy.KW(22000)
		siteA, err := app.Create(ctx, a, app.Sites, asset.SiteFields{Name: "A", TimeZone: "Europe/Amsterdam", DefaultTariffID: tarA.ID, GridLimitKW: &limit})
		must(err)
		siteB, err := app.Create(ctx, a, app.Sites, asset.SiteFields{Name: "B", TimeZone: "Europe/Amsterdam", DefaultTariffID: tarB.ID})
		must(err)
		siteOf := map[string]string{"CP-1": siteA.ID, "CP-2": siteA.ID, "CP-3": siteB.ID}
		for _, id := range []string{"CP-1", "CP-2", "CP-3"} {
			_, err := app.Create(ctx, a, app.Stations, app.StationInput{ID: id, StationFields: asset.StationFields{SiteID: siteOf[id], Kind: asset.KindAC}})
			must(err)
		}
		var accts []string
		rng := rand.New(rand.NewPCG(11, 12))
		for i := range 3 {
			u, err := app.Create(ctx, a, app.Users, app.UserInput{UserFields: account.UserFields{Name: fmt.Sprintf("R%d", i), Email: fmt.Sprintf("r%d@example.com", i), Role: account.RolePurchaser}})
			must(err)
			accts = append(accts, u.AccountID)
			_, err = app.Create(ctx, a, app.IdTokens, account.IdTokenFields{UID: fmt.Sprintf("RT%d", i), Type: "ISO14443", AccountID: u.AccountID})
			must(err)
			for k := range 8 {
				clock.Set(time.Date(2026, 9, 12, 0, 0, 0, 0, time.UTC).Add(time.Duration(k*9*24+rng.IntN(9*24))*time.Hour + time.Duration(rng.IntN(3600))*time.Second))
				_, err := a.TopUp(admin, u.AccountID, app.TopUpInput{Amount: fmt.Sprintf("%d.%02d", 40+rng.IntN(60), rng.IntN(100)), Currency: "EUR", Method: "counter"}, fmt.Sprintf("r%d-%d", i, k))
				must(err)
			}
		}
		// Sessions from 15 September to 8 December: one every ~10 h per station, some over midnight.
		at := time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC)
		meter := map[string]int64{}
		var ended []*chg.Session
		for i := range 200 {
			st := []string{"CP-1", "CP-2", "CP-3"}[i%3]
			start := at.Add(time.Duration(i/3) * 30 * time.Hour).Add(time.Duration(rng.IntN(6*3600)) * time.Second)
			dur := time.Duration(900+rng.IntN(6*3600)) * time.Second
			wh := int64(500 + rng.IntN(40000))
			clock.Set(start)
			ses, _, err := a.StartSession(ctx, app.StartInput{StationID: st, EVSENo: 1, IdToken: fmt.Sprintf("RT%d", i%3), MeterStart: meter[st], At: start})
			must(err)
			clock.Set(start.Add(dur))
			out, _, err := a.StopSession(ctx, app.StopInput{StationID: st, TxRef: ses.TxRef, MeterStop: meter[st] + wh, At: start.Add(dur)})
			must(err)
			meter[st] += wh
			ended = append(ended, out)
		}
		// Replays: the station repeats a stop, and the report hook runs again for an ended session.
		last := ended[len(ended)-1]
		_, _, err = a.StopSession(ctx, app.StopInput{StationID: last.StationID, TxRef: last.TxRef, MeterStop: meter[last.StationID], At: *last.StoppedAt})
		must(err)
		must(s.InTx(ctx, func(tx store.Tx) error {
			for _, ses := range ended[:20] {
				got, err := tx.Sessions().Get(ctx, ses.ID)
				if err != nil {
					return err
				}
				if err := a.ReportsOnSessionEnd(ctx, tx, got); err != nil {
					return err
				}
			}
			return nil
		}))

		// Raw data, read back: sessions with their CDR revenue, and top-up postings.
		type raw struct {
			s          chg.Session
			excl, incl int64
		}
		var sessions []raw
		tops := map[string][]account.LedgerEntry{}
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
					excl, incl := app.CDRRevenue(rec)
					sessions = append(sessions, raw{ses, excl, incl})
				}
				if next == "" {
					break
				}
				cur = next
			}
			for _, acc := range accts {
				es, _, err := tx.Ledger().Entries(ctx, acc, store.Query{Limit: 500})
				if err != nil {
					return err
				}
				for _, e := range es {
					if e.Kind == "topup" {
						tops[acc] = append(tops[acc], e)
					}
				}
			}
			return nil
		}))
		if len(sessions) != 200 {
			t.Fatalf("%d sessions", len(sessions))
		}

		type probe struct {
			name, groupBy, tz, from, to, site, station string
		}
		label := func(p probe, at time.Time) string {
			loc, _ := time.LoadLocation(p.tz)
			l := at.In(loc)
			switch {
			case strings.HasPrefix(p.groupBy, "day"):
				return l.Format(time.DateOnly)
			case strings.HasPrefix(p.groupBy, "week"):
				y, w := l.ISOWeek()
				return fmt.Sprintf("%04d-W%02d", y, w)
			case strings.HasPrefix(p.groupBy, "month"):
				return l.Format("2006-01")
			}
			return ""
		}
		dimOf := func(p probe, r raw) string {
			switch {
			case strings.HasSuffix(p.groupBy, "site"):
				return siteOf[r.s.StationID]
			case strings.HasSuffix(p.groupBy, "station"):
				return r.s.StationID
			case strings.HasSuffix(p.groupBy, "tariff"):
				return r.s.TariffID
			}
			return ""
		}
		rangeOf := func(p probe) (time.Time, time.Time) {
			loc, _ := time.LoadLocation(p.tz)
			f, _ := time.ParseInLocation(time.DateOnly, p.from, loc)
			to, _ := time.ParseInLocation(time.DateOnly, p.to, loc)
			return f.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
		}
		run := func(p probe) *report.Table {
			t.Helper()
			tb, err := a.Report(admin, app.ReportParams{Name: p.name, From: p.from, To: p.to, GroupBy: p.groupBy, TZ: p.tz, SiteID: p.site, StationID: p.station})
			if err != nil {
				t.Fatalf("%+v: %v", p, err)
			}
			return tb
		}
		// keyOf is a row's period and dimension cells joined, as the raw sums key them.
		keyOf := func(p probe, row []any) (string, []any) {
			n := 0
			if p.groupBy != "" {
				n = len(strings.Split(p.groupBy, ","))
			}
			var k []string
			for _, c := range row[:n] {
				k = append(k, fmt.Sprint(c))
			}
			return strings.Join(k, "|"), row[n:]
		}
		rawKey := func(p probe, at time.Time, dim string) string {
			var k []string
			if l := label(p, at); l != "" || strings.HasPrefix(p.groupBy, "day") || strings.HasPrefix(p.groupBy, "week") || strings.HasPrefix(p.groupBy, "month") {
				k = append(k, l)
			}
			if dim != "" || strings.Contains(p.groupBy, "site") || strings.Contains(p.groupBy, "station") || strings.Contains(p.groupBy, "tariff") || strings.Contains(p.groupBy, "purchaser") {
				k = append(k, dim)
			}
			return strings.Join(k, "|")
		}
		inScope := func(p probe, r raw) bool {
			return (p.site == "" || siteOf[r.s.StationID] == p.site) && (p.station == "" || r.s.StationID == p.station)
		}

		// Session figures, by the hour each session started.
		var probes []probe
		for _, g := range []string{"month", "week", "", "site", "station", "tariff", "month,site", "week,station", "day"} {
			probes = append(probes, probe{report.Energy, g, "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""})
		}
		probes = append(probes,
			probe{report.Energy, "month", "America/New_York", "2026-09-20", "2026-12-05", "", ""},
			probe{report.Energy, "", "UTC", "2026-09-16", "2026-12-06", "", ""},
			probe{report.Energy, "day", "UTC", "2026-09-16", "2026-12-06", "", ""},
			probe{report.Energy, "month", "Europe/Amsterdam", "2026-09-20", "2026-12-01", siteA.ID, ""},
			probe{report.Energy, "week,tariff", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", "CP-2"},
			probe{report.Energy, "station", "Europe/Amsterdam", "2026-09-20", "2026-12-01", siteA.ID, ""},
			probe{report.Revenue, "month,site", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			probe{report.Revenue, "tariff", "Asia/Kolkata", "2026-09-20", "2026-12-01", "", ""},
			probe{report.Sessions, "week", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			probe{report.Sessions, "month,station", "America/New_York", "2026-09-20", "2026-12-01", "", ""},
		)
		for _, p := range probes {
			from, to := rangeOf(p)
			want := map[string][7]int64{}
			for _, r := range sessions {
				if r.s.StartedAt.Before(from) || !r.s.StartedAt.Before(to) || !inScope(p, r) {
					continue
				}
				k := rawKey(p, r.s.StartedAt, dimOf(p, r))
				w := want[k]
				d := int64(r.s.StoppedAt.Sub(r.s.StartedAt) / time.Second)
				for i, v := range []int64{1, r.s.EnergyWh, r.s.ExportedWh, r.excl, r.incl, d, (r.s.EnergyWh*3600 + d/2) / d} {
					w[i] += v
				}
				want[k] = w
			}
			tb := run(p)
			got := map[string][]any{}
			for _, row := range tb.Rows {
				k, vals := keyOf(p, row)
				got[k] = vals
			}
			if len(got) != len(want) {
				t.Errorf("%+v: %d rows, want %d (%v vs %v)", p, len(got), len(want), got, want)
			}
			for k, w := range want {
				g := got[k]
				var ok bool
				switch p.name {
				case report.Energy:
					ok = g != nil && g[0] == w[0] && g[1] == w[1] && g[2] == w[2]
				case report.Revenue:
					ok = g != nil && g[0] == "EUR" && g[1] == w[0] && g[2] == fmtMinor(w[3]) && g[3] == fmtMinor(w[4])
				case report.Sessions:
					ok = g != nil && g[0] == w[0] && g[1] == w[5] && g[2] == (w[5]+w[0]/2)/w[0] && g[3] == (w[6]+w[0]/2)/w[0] && g[4] == w[1]
				}
				if !ok {
					t.Errorf("%s by %q in %s (site %q station %q) %s: got %v, want %v", p.name, p.groupBy, p.tz, p.site, p.station, k, g, w)
				}
			}
		}

		// Occupancy and peak load: each session's seconds and energy split over the UTC hours
		// it ran (energy in proportion to time, by report.Spread's whole-Wh rule).
		type hourKey struct {
			station string
			hour    int64
		}
		occ, whs := map[hourKey]int64{}, map[hourKey]int64{}
		for _, r := range sessions {
			for h := r.s.StartedAt.Truncate(time.Hour); h.Before(*r.s.StoppedAt); h = h.Add(time.Hour) {
				a, b := maxTime(h, r.s.StartedAt), minTime(h.Add(time.Hour), *r.s.StoppedAt)
				occ[hourKey{r.s.StationID, h.UnixMicro()}] += int64(b.Sub(a) / time.Second)
			}
			for _, sh := range report.Spread(r.s.StartedAt, *r.s.StoppedAt, r.s.EnergyWh) {
				whs[hourKey{r.s.StationID, sh.Bucket}] += sh.Wh
			}
		}
		for _, p := range []probe{
			{report.Utilisation, "month", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			{report.Utilisation, "site", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			{report.Utilisation, "week,station", "America/New_York", "2026-09-20", "2026-12-01", "", ""},
			{report.Utilisation, "month", "UTC", "2026-09-20", "2026-12-01", siteA.ID, ""},
			{report.Utilisation, "", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", "CP-3"},
		} {
			from, to := rangeOf(p)
			want, capH := map[string]int64{}, map[string]int64{}
			evses := map[string]int64{}
			for st := range siteOf {
				r := raw{s: chg.Session{StationID: st}}
				if !inScope(p, r) {
					continue
				}
				evses[dimOf(p, r)]++ // each station here has one EVSE (none registered counts as one)
			}
			for h := from; h.Before(to); h = h.Add(time.Hour) {
				for st := range siteOf {
					r := raw{s: chg.Session{StationID: st}}
					if !inScope(p, r) {
						continue
					}
					k := rawKey(p, h, dimOf(p, r))
					want[k] += occ[hourKey{st, h.UnixMicro()}]
					capH[k] += 3600
				}
			}
			got := map[string][]any{}
			for _, row := range run(p).Rows {
				k, vals := keyOf(p, row)
				got[k] = vals
			}
			if len(got) != len(want) {
				t.Errorf("%+v: %d rows, want %d", p, len(got), len(want))
			}
			for k, o := range want {
				g := got[k]
				if g == nil || g[2] != hoursOf(o) || g[3] != pct(o, capH[k]) {
					t.Errorf("utilisation by %q in %s (site %q station %q) %s: got %v, want occupied %d s of %d s", p.groupBy, p.tz, p.site, p.station, k, g, o, capH[k])
				}
			}
		}
		for _, p := range []probe{
			{report.PeakLoad, "", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			{report.PeakLoad, "month", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			{report.PeakLoad, "week", "America/New_York", "2026-09-20", "2026-12-01", "", ""},
			{report.PeakLoad, "day", "UTC", "2026-10-20", "2026-11-03", "", ""},
			{report.PeakLoad, "month", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", "CP-2"},
		} {
			from, to := rangeOf(p)
			siteHours := map[string]map[int64]int64{}
			for k, wh := range whs {
				if k.hour < from.UnixMicro() || k.hour >= to.UnixMicro() || !inScope(p, raw{s: chg.Session{StationID: k.station}}) {
					continue
				}
				site := siteOf[k.station]
				if siteHours[site] == nil {
					siteHours[site] = map[int64]int64{}
				}
				siteHours[site][k.hour] += wh
			}
			type peak struct{ wh, at int64 }
			want := map[string]peak{}
			for site, hs := range siteHours {
				for h, wh := range hs {
					l := label(p, time.UnixMicro(h))
					k := site
					if strings.Contains(p.groupBy, "day") || strings.Contains(p.groupBy, "week") || strings.Contains(p.groupBy, "month") {
						k = l + "|" + site
					}
					w, ok := want[k]
					if !ok || wh > w.wh || wh == w.wh && h < w.at {
						want[k] = peak{wh, h}
					}
				}
			}
			got := map[string][]any{}
			for _, row := range run(p).Rows {
				n := 1
				if p.groupBy != "" {
					n = 2
				}
				var k []string
				for _, c := range row[:n] {
					k = append(k, fmt.Sprint(c))
				}
				got[strings.Join(k, "|")] = row[n:]
			}
			if len(got) != len(want) {
				t.Errorf("peak %+v: %d rows, want %d", p, len(got), len(want))
			}
			for k, w := range want {
				g := got[k]
				if g == nil || g[0] != w.wh || g[1] != time.UnixMicro(w.at).UTC().Format(time.RFC3339) {
					t.Errorf("peak by %q in %s (station %q) %s: got %v, want %d W at %s", p.groupBy, p.tz, p.station, k, g, w.wh, time.UnixMicro(w.at).UTC())
				}
			}
		}

		// Top-ups by month and by purchaser.
		for _, p := range []probe{
			{report.TopUps, "month", "Europe/Amsterdam", "2026-09-14", "2026-12-01", "", ""},
			{report.TopUps, "purchaser", "Europe/Amsterdam", "2026-09-20", "2026-11-15", "", ""},
			{report.TopUps, "week,purchaser", "America/New_York", "2026-09-14", "2026-12-01", "", ""},
			{report.TopUps, "", "UTC", "2026-09-14", "2026-12-01", "", ""},
		} {
			from, to := rangeOf(p)
			want := map[string][2]int64{}
			for acc, es := range tops {
				for _, e := range es {
					if e.At.Before(from) || !e.At.Before(to) {
						continue
					}
					dim := ""
					if strings.Contains(p.groupBy, "purchaser") {
						dim = acc
					}
					k := rawKey(p, e.At, dim)
					w := want[k]
					w[0]++
					w[1] += e.Amount
					want[k] = w
				}
			}
			got := map[string][]any{}
			for _, row := range run(p).Rows {
				k, vals := keyOf(p, row)
				got[k] = vals
			}
			if len(got) != len(want) {
				t.Errorf("top-ups %+v: %d rows, want %d", p, len(got), len(want))
			}
			for k, w := range want {
				if g := got[k]; g == nil || g[0] != "EUR" || g[1] != w[0] || g[2] != fmtMinor(w[1]) {
					t.Errorf("top-ups by %q in %s %s: got %v, want %v", p.groupBy, p.tz, k, g, w)
				}
			}
		}

		// The migration's back-fill rebuilds the rollups the use cases kept.
		all := []probe{
			{report.Energy, "week,station", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			{report.Revenue, "month,site", "America/New_York", "2026-09-20", "2026-12-01", "", ""},
			{report.Sessions, "", "UTC", "2026-09-16", "2026-12-06", "", ""},
			{report.Utilisation, "month,station", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			{report.PeakLoad, "week", "Europe/Amsterdam", "2026-09-20", "2026-12-01", "", ""},
			{report.TopUps, "month,purchaser", "Europe/Amsterdam", "2026-09-14", "2026-12-01", "", ""},
		}
		before := map[probe]string{}
		for _, p := range all {
			b, _ := json.Marshal(run(p))
			before[p] = string(b)
		}
		db, ok := s.(*sqlstore.DB)
		if !ok {
			t.Fatalf("store %T", s)
		}
		must(db.RedoMigration(ctx, 14))
		for _, p := range all {
			b, _ := json.Marshal(run(p))
			if string(b) != before[p] {
				var x, y any
				_ = json.Unmarshal(b, &x)
				_ = json.Unmarshal([]byte(before[p]), &y)
				if !reflect.DeepEqual(x, y) {
					t.Errorf("%+v after the back-fill:\n%s\nbefore:\n%s", p, b, before[p])
				}
			}
		}
	})
}

// hoursOf formats seconds as hours with two decimals, half-up.
func hoursOf(sec int64) string {
	v := (sec*100*2 + 3600) / (2 * 3600)
	return fmt.Sprintf("%d.%02d", v/100, v%100)
}
