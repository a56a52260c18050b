package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
)

// TestQueryAPI: the list parameters every list takes (from, to, min_amount, max_amount, sort
// and its cursor), the 400 problems naming a bad one, the documented sorts all working, and
// /api/v1/search — over HTTP, on both stores.
func TestQueryAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		var site, user, other, staff, tok, veh obj
		s.must(201, "POST", "/api/v1/sites", obj{"name": "Harbour Yard", "time_zone": "UTC"}, &site)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "CP-H1", "site_id": site["id"]}, nil)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "CP-H2", "site_id": site["id"]}, nil)
		s.must(201, "POST", "/api/v1/users", obj{"name": "Marguerite Oddly", "email": "mo@example.net", "role": "purchaser", "currency": "EUR"}, &user)
		s.must(201, "POST", "/api/v1/users", obj{"name": "Walter Plain", "email": "wp@example.net", "role": "purchaser", "currency": "EUR"}, &other)
		s.must(201, "POST", "/api/v1/users", obj{"name": "Marguerite Staff", "email": "ms@example.net", "role": "operator"}, &staff)
		s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": "ODD-0042", "type": "ISO14443", "account_id": user["account_id"]}, &tok)
		s.must(201, "POST", "/api/v1/vehicles", obj{"owner_id": user["id"], "plate": "OD-42-LY", "vin": "WVWZZZ1KZ6W000042"}, &veh)
		acc := user["account_id"].(string)

		// Twelve ended sessions an hour apart, costs 0.10 … 1.20 EUR in a shuffled order.
		t0 := time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)
		err := s.M.Store.InTx(context.Background(), func(tx store.Tx) error {
			for i := range 12 {
				start := t0.Add(time.Duration(i) * time.Hour)
				stop, cost := start.Add(40*time.Minute), int64(10*(1+(i*5)%12))
				ses := charging.Session{ID: fmt.Sprintf("ses_h%02d", i), StationID: []string{"CP-H1", "CP-H2"}[i%2], EVSENo: 1 + i%3/2, TxRef: fmt.Sprint(i),
					AccountID: []string{acc, other["account_id"].(string)}[i%3/2], Kind: charging.KindCharge, Status: charging.Completed,
					StartedAt: start, StoppedAt: &stop, UpdatedAt: stop, EnergyWh: 1000, CostMinor: &cost, Currency: "EUR", TariffID: "tar_h"}
				if i%4 == 0 {
					ses.VehicleID = veh["id"].(string)
				}
				if err := tx.Sessions().Create(context.Background(), &ses); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		type page struct {
			Items []struct {
				ID        string    `json:"id"`
				StartedAt time.Time `json:"started_at"`
				Cost      struct{ Amount string }
			}
			NextCursor string `json:"next_cursor"`
		}
		// walk follows next_cursor and returns the ids in order.
		walk := func(path string) []string {
			t.Helper()
			var ids []string
			cursor := ""
			for range 20 {
				p := path
				if cursor != "" {
					p += "&cursor=" + url.QueryEscape(cursor)
				}
				var pg page
				s.must(200, "GET", p, nil, &pg)
				for _, it := range pg.Items {
					ids = append(ids, it.ID)
				}
				if cursor = pg.NextCursor; cursor == "" {
					return ids
				}
			}
			t.Fatalf("%s: too many pages", path)
			return nil
		}
		costOf := func(i int) int { return 10 * (1 + (i*5)%12) }
		ids := func(keep func(i int) bool, less func(a, b int) int) []string {
			var is []int
			for i := range 12 {
				if keep(i) {
					is = append(is, i)
				}
			}
			slices.SortStableFunc(is, less)
			out := []string{}
			for _, i := range is {
				out = append(out, fmt.Sprintf("ses_h%02d", i))
			}
			return out
		}
		every := func(int) bool { return true }
		byID := func(a, b int) int { return a - b }
		check := func(name string, got, want []string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s:\n got %v\nwant %v", name, got, want)
			}
		}
		rfc := func(tm time.Time) string { return url.QueryEscape(tm.Format(time.RFC3339)) }

		t.Run("sessions: contract filters still work", func(t *testing.T) {
			check("station_id+account_id+status", walk("/api/v1/sessions?limit=2&station_id=CP-H1&account_id="+acc+"&status=completed"),
				ids(func(i int) bool { return i%2 == 0 && i%3/2 == 0 }, byID))
		})
		t.Run("sessions: sorts page across pages in both directions", func(t *testing.T) {
			check("sort=-cost", walk("/api/v1/sessions?limit=5&site_id="+site["id"].(string)+"&sort=-cost"), ids(every, func(a, b int) int { return costOf(b) - costOf(a) }))
			check("sort=cost", walk("/api/v1/sessions?limit=5&sort=cost"), ids(every, func(a, b int) int { return costOf(a) - costOf(b) }))
			check("sort=-started_at", walk("/api/v1/sessions?limit=4&sort=-started_at"), ids(every, func(a, b int) int { return b - a }))
			check("sort=-id", walk("/api/v1/sessions?limit=7&sort=-id"), ids(every, func(a, b int) int { return b - a }))
		})
		t.Run("sessions: ranges and the new filters", func(t *testing.T) {
			check("from/to", walk("/api/v1/sessions?limit=2&from="+rfc(t0.Add(2*time.Hour))+"&to="+rfc(t0.Add(5*time.Hour))), ids(func(i int) bool { return i >= 2 && i < 5 }, byID))
			check("stopped_at range", walk("/api/v1/sessions?time_field=stopped_at&from="+rfc(t0.Add(10*time.Hour+40*time.Minute))), ids(func(i int) bool { return i >= 10 }, byID))
			check("0.30..0.60", walk("/api/v1/sessions?limit=2&min_amount=0.30&max_amount=0.6&sort=cost"),
				ids(func(i int) bool { return costOf(i) >= 30 && costOf(i) <= 60 }, func(a, b int) int { return costOf(a) - costOf(b) }))
			check("vehicle", walk("/api/v1/sessions?vehicle_id="+veh["id"].(string)), ids(func(i int) bool { return i%4 == 0 }, byID))
			check("purchaser", walk("/api/v1/sessions?user_id="+other["id"].(string)), ids(func(i int) bool { return i%3/2 == 1 }, byID))
			check("tariff and EVSE", walk("/api/v1/sessions?tariff_id=tar_h&station_id=CP-H2&evse_no=2"), ids(func(i int) bool { return i%2 == 1 && i%3/2 == 1 }, byID))
		})
		t.Run("top-ups and ledger", func(t *testing.T) {
			for i, amt := range []string{"10.00", "25.00", "40.00"} {
				s.topUp(acc, amt, fmt.Sprint("q-", i))
			}
			var tops struct {
				Items []struct{ Amount struct{ Amount string } }
			}
			s.must(200, "GET", "/api/v1/accounts/"+acc+"/topups?min_amount=20&sort=created_at", nil, &tops)
			if len(tops.Items) != 2 || tops.Items[0].Amount.Amount != "25.00" || tops.Items[1].Amount.Amount != "40.00" {
				t.Errorf("top-ups of at least 20 oldest first: %+v", tops.Items)
			}
			var led struct {
				Items []struct{ Amount struct{ Amount string } }
			}
			s.must(200, "GET", "/api/v1/accounts/"+acc+"/ledger?sort=-amount&limit=1", nil, &led)
			if len(led.Items) != 1 || led.Items[0].Amount.Amount != "40.00" {
				t.Errorf("largest ledger entry: %+v", led.Items)
			}
		})
		t.Run("bad parameters are 400 problems naming them", func(t *testing.T) {
			var first page
			s.must(200, "GET", "/api/v1/sessions?limit=2&sort=cost", nil, &first)
			for _, c := range []struct{ path, param string }{
				{"/api/v1/sessions?sort=energy_wh", "sort"},
				{"/api/v1/sessions?sort=-cost&cursor=" + url.QueryEscape(first.NextCursor), "cursor"},
				{"/api/v1/sessions?cursor=" + url.QueryEscape(first.NextCursor), "cursor"},
				{"/api/v1/sessions?from=yesterday", "from"},
				{"/api/v1/sessions?from=2026-05-04T10:00:00Z&to=2026-05-04T09:00:00Z", "to"},
				{"/api/v1/sessions?from=2026-05-04T10:00:00Z&time_field=paid_at", "time_field"},
				{"/api/v1/sessions?min_amount=ten", "min_amount"},
				{"/api/v1/sites?max_amount=1", "max_amount"},
				{"/api/v1/users?sort=password", "sort"},
				{"/api/v1/invoices?sort=colour", "sort"},
				{"/api/v1/swaps?to=never", "to"},
				{"/api/v1/alarms?sort=loudness", "sort"},
				{"/api/v1/accounts/" + acc + "/topups?sort=amount", "sort"},
				{"/api/v1/search?q=", "q"},
				{"/api/v1/search?q=x&types=planets", "types"},
			} {
				code, raw := s.do("GET", c.path, nil, nil)
				var p struct {
					Status int
					Detail string
					Errors []struct{ Location string }
				}
				_ = json.Unmarshal(raw, &p)
				if code != 400 || p.Status != 400 || p.Detail == "" || len(p.Errors) == 0 || p.Errors[0].Location != "query."+c.param {
					t.Errorf("%s: %d %s, want a 400 problem on query.%s", c.path, code, raw, c.param)
				}
			}
			// What was a 422 stays one.
			s.must(422, "GET", "/api/v1/sessions?colour=red", nil, nil)
			s.must(422, "GET", "/api/v1/sessions?cursor=not*a*cursor", nil, nil)
		})
		t.Run("every documented sort and time field works", func(t *testing.T) {
			var doc struct {
				Paths map[string]map[string]struct {
					Parameters []struct {
						Name   string
						In     string
						Schema struct{ Enum []string }
					}
				}
			}
			s.must(200, "GET", "/openapi.json", nil, &doc)
			ids := strings.NewReplacer("{id}", "", "/stations/", "/stations/CP-H1", "/accounts/", "/accounts/"+acc)
			n := 0
			for path, ops := range doc.Paths {
				get, ok := ops["get"]
				if !ok || strings.Contains(path, "/batteries/{id}") {
					continue
				}
				for _, p := range get.Parameters {
					if p.In != "query" || (p.Name != "sort" && p.Name != "time_field") {
						continue
					}
					for _, v := range p.Schema.Enum {
						q := "?" + p.Name + "=" + v
						if p.Name == "time_field" {
							q += "&from=2026-01-01T00:00:00Z"
						}
						if code, raw := s.do("GET", ids.Replace(path)+q, nil, nil); code != 200 {
							t.Errorf("GET %s%s: %d %s", path, q, code, raw)
						}
						n++
					}
				}
			}
			if n < 60 {
				t.Errorf("only %d documented sorts and time fields", n)
			}
		})
		t.Run("search", func(t *testing.T) {
			var r struct {
				Purchasers []struct{ ID, Email string }
				IdTokens   []struct{ UID string } `json:"id_tokens"`
				Vehicles   []struct{ Plate string }
				Stations   []struct {
					ID       string
					SiteName string `json:"site_name"`
				}
			}
			s.must(200, "GET", "/api/v1/search?q=MARGUERITE", nil, &r)
			if len(r.Purchasers) != 1 || r.Purchasers[0].ID != user["id"] || len(r.IdTokens)+len(r.Vehicles)+len(r.Stations) != 0 {
				t.Errorf("search by name (the operator is no purchaser): %+v", r)
			}
			s.must(200, "GET", "/api/v1/search?q=odd", nil, &r)
			if len(r.Purchasers) != 1 || len(r.IdTokens) != 1 || r.IdTokens[0].UID != "ODD-0042" || len(r.Vehicles) != 0 {
				t.Errorf("search odd: %+v", r)
			}
			s.must(200, "GET", "/api/v1/search?q=42-l", nil, &r)
			if len(r.Vehicles) != 1 || r.Vehicles[0].Plate != "OD-42-LY" {
				t.Errorf("search by plate: %+v", r)
			}
			s.must(200, "GET", "/api/v1/search?q=harbour&limit=1", nil, &r)
			if len(r.Stations) != 1 || r.Stations[0].ID != "CP-H1" || r.Stations[0].SiteName != "Harbour Yard" {
				t.Errorf("search by site name, one per type: %+v", r)
			}
			s.must(200, "GET", "/api/v1/search?q=example.net&types=purchasers,stations", nil, &r)
			if len(r.Purchasers) != 2 || len(r.IdTokens) != 0 {
				t.Errorf("search purchasers by e-mail: %+v", r)
			}
		})
	})
}
