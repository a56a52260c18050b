package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/evcs/evcs/internal/app"
)

// TestReportsOverHTTPAndCLI: sessions charged through the app are in the energy and revenue
// reports as JSON, CSV (header row, attachment) and XLSX (read back with excelize), figures
// equal to the sums of GET /sessions; bad parameters answer 422 naming the parameter; `evcs
// report` prints the same CSV.
func TestReportsOverHTTPAndCLI(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		ctx := app.WithActor(context.Background(), app.System)
		acc := s.billingFleet("TAG-REP", "REP-1")
		// Top-ups are posted at the server's clock, not at the sessions' fixed dates: their
		// report asks for the days around now (a fixed range failed once the date passed it).
		now := time.Now().UTC()
		qTop := "from=" + now.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + now.AddDate(0, 0, 2).Format(time.DateOnly) + "&tz=Europe/Amsterdam"
		s.topUp(acc, "80.00", "rep-topup-1")
		start := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
		var meter int64
		for i := range 3 {
			at := start.Add(time.Duration(i) * 20 * time.Hour) // 24, 25 (04:00) and 26 Nov
			ses, _, err := s.M.App.StartSession(ctx, app.StartInput{StationID: "REP-1", EVSENo: 1, IdToken: "TAG-REP", MeterStart: meter, At: at})
			if err != nil {
				t.Fatal(err)
			}
			meter += int64(4000 + 1111*i)
			if _, _, err := s.M.App.StopSession(ctx, app.StopInput{StationID: "REP-1", TxRef: ses.TxRef, MeterStop: meter, At: at.Add(45 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		var list struct {
			Items []struct {
				EnergyWh  int64     `json:"energy_wh"`
				StartedAt time.Time `json:"started_at"`
				Cost      struct {
					Amount string `json:"amount"`
				} `json:"cost"`
			} `json:"items"`
		}
		s.must(200, "GET", "/api/v1/sessions?station_id=REP-1", nil, &list)
		loc, _ := time.LoadLocation("Europe/Amsterdam")
		wantDay := map[string]int64{}
		var wantCharged int64
		for _, it := range list.Items {
			wantDay[it.StartedAt.In(loc).Format(time.DateOnly)] += it.EnergyWh
			c, _ := strconv.ParseFloat(it.Cost.Amount, 64)
			wantCharged += int64(c*100 + 0.5)
		}
		if len(list.Items) != 3 || len(wantDay) != 3 {
			t.Fatalf("sessions %+v", list)
		}
		q := "from=2026-11-24&to=2026-11-27&tz=Europe/Amsterdam"

		var rep struct {
			Columns []struct{ Name string } `json:"columns"`
			Rows    []map[string]any        `json:"rows"`
			Totals  map[string]any          `json:"totals"`
		}
		s.must(200, "GET", "/api/v1/reports/energy?"+q+"&group_by=day", nil, &rep)
		if len(rep.Rows) != 3 || rep.Columns[0].Name != "day" {
			t.Fatalf("energy: %+v", rep)
		}
		for _, r := range rep.Rows {
			if int64(r["energy_wh"].(float64)) != wantDay[r["day"].(string)] || r["sessions"].(float64) != 1 {
				t.Errorf("energy row %v, want %v", r, wantDay)
			}
		}
		s.must(200, "GET", "/api/v1/reports/revenue?"+q, nil, &rep)
		if len(rep.Rows) != 1 || rep.Rows[0]["currency"] != "EUR" || rep.Rows[0]["revenue_incl_vat"] != strconv.FormatInt(wantCharged/100, 10)+"."+strconv.FormatInt(wantCharged%100/10, 10)+strconv.FormatInt(wantCharged%10, 10) {
			t.Errorf("revenue %+v, want %d cents charged", rep.Rows, wantCharged)
		}
		s.must(200, "GET", "/api/v1/reports/topups?"+qTop+"&group_by=purchaser", nil, &rep)
		if len(rep.Rows) != 1 || rep.Rows[0]["account_id"] != acc || rep.Rows[0]["amount"] != "80.00" {
			t.Errorf("topups %+v", rep.Rows)
		}

		get := func(path string) (*http.Response, []byte) {
			req, _ := http.NewRequest("GET", s.Base+path, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res, b
		}
		res, body := get("/api/v1/reports/energy?" + q + "&group_by=day&format=csv")
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if res.StatusCode != 200 || err != nil || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") || len(recs) != 4 ||
			strings.Join(recs[0], ",") != "day,sessions,energy_wh,exported_wh" || recs[1][2] != strconv.FormatInt(wantDay[recs[1][0]], 10) {
			t.Errorf("csv %d %v %q %v", res.StatusCode, res.Header, body, err)
		}
		res, body = get("/api/v1/reports/energy?" + q + "&group_by=day&format=xlsx")
		f, err := excelize.OpenReader(bytes.NewReader(body))
		if res.StatusCode != 200 || err != nil {
			t.Fatalf("xlsx %d %v", res.StatusCode, err)
		}
		rows, _ := f.GetRows("energy")
		if len(rows) != 4 || rows[0][2] != "energy_wh" || rows[2][2] != strconv.FormatInt(wantDay[rows[2][0]], 10) {
			t.Errorf("xlsx rows %v", rows)
		}

		// Purchaser groupings come in pages: a second purchaser's top-up makes two.
		var u2 map[string]any
		s.must(201, "POST", "/api/v1/users", map[string]any{"name": "Second", "email": "second@example.com", "role": "purchaser"}, &u2)
		acc2 := u2["account_id"].(string)
		req, _ := http.NewRequest("POST", s.Base+"/api/v1/accounts/"+acc2+"/topups", strings.NewReader(`{"amount":{"amount":"5.00","currency":"EUR"},"method":"counter"}`))
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "second-topup")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 201 {
			t.Fatalf("second top-up: %v %v", res, err)
		}
		res, body = get("/api/v1/reports/topups?" + qTop + "&group_by=purchaser&limit=1")
		var page struct {
			Rows []map[string]any `json:"rows"`
			Next string           `json:"next_cursor"`
		}
		link := res.Header.Get("Link")
		if err := json.Unmarshal(body, &page); err != nil || res.StatusCode != 200 || len(page.Rows) != 1 || page.Next == "" ||
			!strings.HasPrefix(link, "</api/v1/reports/topups?") || !strings.HasSuffix(link, `>; rel="next"`) || !strings.Contains(link, "cursor="+page.Next) {
			t.Fatalf("first page %d %s %q", res.StatusCode, body, link)
		}
		seen := []any{page.Rows[0]["account_id"]}
		res, body = get(strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`))
		page.Next = ""
		if err := json.Unmarshal(body, &page); err != nil || res.StatusCode != 200 || len(page.Rows) != 1 || page.Next != "" || res.Header.Get("Link") != "" {
			t.Fatalf("second page %d %s %v", res.StatusCode, body, res.Header)
		}
		seen = append(seen, page.Rows[0]["account_id"])
		if want := []any{min(acc, acc2), max(acc, acc2)}; fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("pages hold %v, want %v in id order", seen, want)
		}

		for param, path := range map[string]string{
			"cursor":   "/api/v1/reports/energy?group_by=purchaser&cursor=nonsense",
			"limit":    "/api/v1/reports/energy?group_by=purchaser&limit=10001",
			"group_by": "/api/v1/reports/energy?group_by=fortnight",
			"tz":       "/api/v1/reports/energy?tz=Nowhere/Town",
			"to":       "/api/v1/reports/energy?from=2026-11-02&to=2026-11-01",
			"from":     "/api/v1/reports/energy?from=soon",
		} {
			res, body := get(path)
			var p struct {
				Errors []struct{ Location string } `json:"errors"`
			}
			_ = json.Unmarshal(body, &p)
			if res.StatusCode != 422 || len(p.Errors) != 1 || p.Errors[0].Location != "query."+param {
				t.Errorf("%s: %d %s", path, res.StatusCode, body)
			}
		}
		if res, _ := get("/api/v1/reports/energy?format=pdf"); res.StatusCode != 422 {
			t.Errorf("format=pdf: %d", res.StatusCode)
		}

		// The CLI prints the same CSV.
		cmd := newReportCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs([]string{"energy", "--db", s.M.Cfg.DB, "--from", "2026-11-24", "--to", "2026-11-27", "--tz", "Europe/Amsterdam", "--group-by", "day", "--format", "csv"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		_, web := get("/api/v1/reports/energy?" + q + "&group_by=day&format=csv")
		if out.String() != string(web) || errOut.Len() != 0 {
			t.Errorf("cli %q (stderr %q), web %q", out.String(), errOut.String(), web)
		}
		cmd = newReportCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"energy", "--db", s.M.Cfg.DB, "--group-by", "fortnight"})
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--group-by") {
			t.Errorf("cli bad group-by: %v", err)
		}
	})
}
