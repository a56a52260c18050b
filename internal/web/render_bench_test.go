package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/benchtest"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/opendb"
)

// BenchmarkConsoleRender measures the server time of console pages (dashboard, sessions list,
// a station, an account, a purchaser's own page, the reports page) over a seeded store: one
// sub-benchmark per page, each render into an httptest recorder timed after one warm-up render.
// It runs only when EVCS_BENCH_DB names a store made by `evcs seed --scale`, e.g.
//
//	EVCS_BENCH_DB=sqlite:/tmp/evcs-scale.db go test ./internal/web -run '^$' -bench BenchmarkConsoleRender -benchtime 20x
//
// It adds one admin user (bench-admin@seed.example) to the store if missing. Each sub-benchmark
// reports p50-ms, p95-ms and bytes (the page's size); the target, every page under 100 ms of
// server time, is read off p95-ms.
func BenchmarkConsoleRender(b *testing.B) {
	dsn := os.Getenv("EVCS_BENCH_DB")
	if dsn == "" {
		b.Skip("EVCS_BENCH_DB not set")
	}
	ctx := context.Background()
	s, err := opendb.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := app.New(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Close()
	r := chi.NewRouter()
	c := Mount(r, a)
	defer c.Close()

	admin := &account.User{UserFields: account.UserFields{Name: "Bench admin", Email: "bench-admin@seed.example", Role: account.RoleAdmin}}
	if u, err := app.Create(app.WithActor(ctx, app.System), a, app.Users, app.UserInput{UserFields: admin.UserFields}); err == nil {
		admin = u
	} else if errs.Is(err, errs.Conflict) {
		err = s.View(ctx, func(tx store.Tx) error {
			us, _, err := tx.Users().List(ctx, store.Query{Filter: map[string]string{"email": admin.Email}, Limit: 1})
			if err == nil && len(us) == 0 {
				err = errors.New("no bench admin")
			}
			if err == nil {
				admin = &us[0]
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	} else {
		b.Fatal(err)
	}
	var buyer *account.User
	var station string
	oldSeed := false // users seeded without their account id: /me cannot find it
	err = s.View(ctx, func(tx store.Tx) error {
		us, _, err := tx.Users().List(ctx, store.Query{Filter: map[string]string{"role": account.RolePurchaser}, Limit: 1})
		if err != nil || len(us) == 0 {
			return fmt.Errorf("no purchaser in the store: %v", err)
		}
		buyer = &us[0]
		if buyer.AccountID == "" { // stores seeded before users carried their account
			oldSeed = true
			as, _, err := tx.Accounts().List(ctx, store.Query{Filter: map[string]string{"user_id": buyer.ID}, Limit: 1})
			if err != nil || len(as) == 0 {
				return fmt.Errorf("no account of %s: %v", buyer.ID, err)
			}
			buyer.AccountID = as[0].ID
		}
		sts, _, err := tx.Stations().List(ctx, store.Query{Limit: 1})
		if err != nil || len(sts) == 0 {
			return fmt.Errorf("no station in the store: %v", err)
		}
		station = sts[0].ID
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	staff := c.sessions.create(admin, a.Clock.Now())
	own := c.sessions.create(buyer, a.Clock.Now())
	for _, p := range []struct {
		name, path string
		as         *session
	}{
		{"dashboard", "/", staff},
		{"sessions list", "/sessions", staff},
		{"station page", "/stations/" + station, staff},
		{"account page", "/accounts/" + buyer.AccountID, staff},
		{"purchaser's own page", "/me", own},
		{"reports page", "/reports", staff},
		{"reports page with a table", "/reports?name=energy&group_by=day,site&tz=Europe/Amsterdam", staff},
	} {
		if oldSeed && p.as == own {
			continue
		}
		b.Run(benchtest.Name(p.name), func(b *testing.B) {
			benchtest.Latency(b, func() (int, time.Duration) { return renderPage(b, r, p.path, p.as) })
		})
	}
}

// renderPage serves GET path as the user of session as into a recorder, failing b unless it
// answers 200. It returns the page's size and the time ServeHTTP took.
func renderPage(b *testing.B, r http.Handler, path string, as *session) (int, time.Duration) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: as.ID})
	rec := httptest.NewRecorder()
	t0 := time.Now()
	r.ServeHTTP(rec, req)
	d := time.Since(t0)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %.500s", path, rec.Code, rec.Body.String())
	}
	return rec.Body.Len(), d
}
