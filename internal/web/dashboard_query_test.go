package web

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// TestDashboardToday: today's figures count the running sessions, those started today and
// those stopped today (each once), read through time-bounded lists, on both stores.
func TestDashboardToday(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.Local)
	midnight := time.Date(2026, 3, 2, 0, 0, 0, 0, time.Local)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		a := app.New(s, fixedClock(now), slog.New(slog.NewTextHandler(io.Discard, nil)))
		t.Cleanup(a.Close)
		site := asset.Site{ID: "site_d", SiteFields: asset.SiteFields{Name: "D", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		st := asset.Station{ID: "CP-D", StationFields: asset.StationFields{SiteID: "site_d", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		ses := func(id string, start time.Time, stop *time.Time, wh, cost int64) charging.Session {
			x := charging.Session{ID: id, StationID: "CP-D", EVSENo: 1, TxRef: id, Kind: charging.KindCharge, Status: charging.Active,
				StartedAt: start, UpdatedAt: start, EnergyWh: wh, PowerW: 1000}
			if stop != nil {
				x.Status, x.StoppedAt, x.CostMinor, x.Currency, x.UpdatedAt = charging.Completed, stop, &cost, "EUR", *stop
			}
			return x
		}
		at := func(d time.Duration) *time.Time { x := midnight.Add(d); return &x }
		all := []charging.Session{
			ses("ses_a", midnight.Add(-72*time.Hour), nil, 1000, 0),                  // running for days: counted
			ses("ses_b", midnight.Add(-2*time.Hour), at(time.Hour), 2000, 150),       // stopped today: counted, revenue
			ses("ses_c", midnight.Add(-5*time.Hour), at(-time.Hour), 4000, 300),      // yesterday: not counted
			ses("ses_d", midnight.Add(2*time.Hour), at(3*time.Hour), 8000, 250),      // today: counted, revenue
			ses("ses_e", midnight.Add(-48*time.Hour), at(-30*time.Hour), 16000, 500), // two days ago: not counted
		}
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.Sites().Create(ctx, &site); err != nil {
				return err
			}
			if err := tx.Stations().Create(ctx, &st); err != nil {
				return err
			}
			for i := range all {
				if err := tx.Sessions().Create(ctx, &all[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := (&Console{app: a}).snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if snap.TodaySessions != 3 || snap.ActiveSessions != 1 || snap.TodayEnergyWh != 11000 || snap.TodayRevenue != "4.00 EUR" {
			t.Errorf("today: %d sessions (%d active), %d Wh, revenue %q; want 3 (1), 11000 Wh, 4.00 EUR",
				snap.TodaySessions, snap.ActiveSessions, snap.TodayEnergyWh, snap.TodayRevenue)
		}
	})
}
