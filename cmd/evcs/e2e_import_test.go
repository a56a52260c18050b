package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/bulk"
	"github.com/evcs/evcs/internal/store/storetest"
)

// raw sends body with a content type and returns the status, the content type and the body.
func (s *testServer) raw(method, path, contentType string, body []byte) (int, string, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.Base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// runEVCS runs the evcs command line in-process.
func runEVCS(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var o, e bytes.Buffer
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return o.String(), e.String(), err
}

// seedMasterData creates one of each kind over the API, with optional fields, a credit limit,
// a staff user (never exported) and deactivated records.
func seedMasterData(s *testServer) {
	var site, user, user2 struct {
		ID        string
		AccountID string `json:"account_id"`
	}
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Depot, \"North\"", "time_zone": "Europe/Amsterdam", "grid_limit_kw": 250.5,
		"address": obj{"street": "Kade 1", "city": "Utrecht", "postal_code": "3511 AA", "country": "NL"}}, &site)
	var closed struct{ ID string }
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Closed", "time_zone": "UTC"}, &closed)
	s.must(200, "DELETE", "/api/v1/sites/"+closed.ID, nil, nil)
	s.must(201, "POST", "/api/v1/stations", obj{"id": "CP-1", "site_id": site.ID, "kind": "dc", "ocpp_password": "a-long-station-secret", "v2x": true, "name": "Fast"}, nil)
	s.must(201, "POST", "/api/v1/stations", obj{"id": "CP-2", "site_id": site.ID}, nil)
	s.must(201, "POST", "/api/v1/users", obj{"name": "Ada Lovelace", "email": "ada@example.com", "role": "purchaser", "currency": "GBP", "phone": "+44 20 1234"}, &user)
	s.must(200, "PATCH", "/api/v1/accounts/"+user.AccountID, obj{"credit_limit": "15.00"}, nil)
	s.must(201, "POST", "/api/v1/users", obj{"name": "Bo", "email": "bo@example.com", "role": "purchaser"}, &user2)
	s.must(201, "POST", "/api/v1/users", obj{"name": "Staff", "email": "staff@example.com", "role": "viewer", "password": "a-login-password"}, nil)
	s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": "04A1B2C3D4", "type": "ISO14443", "account_id": user.AccountID, "expires_at": "2027-01-31T23:00:00Z", "label": "card"}, nil)
	s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": "APP-7", "type": "Central", "account_id": user2.AccountID, "status": "blocked"}, nil)
	s.must(201, "POST", "/api/v1/vehicles", obj{"owner_id": user.ID, "vin": "WVWZZZ1JZXW000001", "plate": "AB-123-C", "battery_capacity_wh": 58000,
		"max_ac_kw": 11, "max_dc_kw": 120.5, "connector_types": []string{"IEC_62196_T2", "IEC_62196_T2_COMBO"}, "min_soc_pct": 20}, nil)
	var v struct{ ID string }
	s.must(201, "POST", "/api/v1/vehicles", obj{"owner_id": user2.ID, "plate": "XY-12"}, &v)
	s.must(200, "DELETE", "/api/v1/vehicles/"+v.ID, nil, nil)
}

func exportAPI(s *testServer, format string) map[string][]byte {
	s.t.Helper()
	out := map[string][]byte{}
	for _, k := range bulk.Names() {
		code, ct, b := s.raw("GET", "/api/v1/exports/"+k+"?format="+format, "", nil)
		if code != 200 || !strings.HasPrefix(ct, strings.Split(bulk.ContentType(format), ";")[0]) {
			s.t.Fatalf("export %s %s: %d %s %s", k, format, code, ct, b)
		}
		out[k] = b
	}
	return out
}

func sameCells(t *testing.T, format string, a, b []byte) bool {
	t.Helper()
	ta, err := bulk.Read(bytes.NewReader(a), format, "")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := bulk.Read(bytes.NewReader(b), format, "")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(ta.Columns, ta.Rows) == fmt.Sprint(tb.Columns, tb.Rows)
}

// TestImportExportRoundTrip is the acceptance test: seed over the API, export, import into a
// fresh store, export again: identical CSV bytes and XLSX cells, on both stores, over the API
// and over the command line.
func TestImportExportRoundTrip(t *testing.T) {
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			src := startMain(t, o.DSN(t))
			seedMasterData(src)
			for _, format := range []string{bulk.CSV, bulk.XLSX} {
				first := exportAPI(src, format)
				dst := startMain(t, o.DSN(t)) // the wiped store
				for _, k := range bulk.Names() {
					var res struct {
						Created int  `json:"created"`
						DryRun  bool `json:"dry_run"`
					}
					code, _, b := dst.raw("POST", "/api/v1/imports?kind="+k+"&dry_run=true", bulk.ContentType(format), first[k])
					if code != 200 || json.Unmarshal(b, &res) != nil || !res.DryRun || res.Created != 0 {
						t.Fatalf("dry run %s %s: %d %s", format, k, code, b)
					}
					code, _, b = dst.raw("POST", "/api/v1/imports?kind="+k, bulk.ContentType(format), first[k])
					if code != 200 || json.Unmarshal(b, &res) != nil || res.Created == 0 {
						t.Fatalf("import %s %s: %d %s", format, k, code, b)
					}
				}
				second := exportAPI(dst, format)
				for _, k := range bulk.Names() {
					if format == bulk.CSV && !bytes.Equal(first[k], second[k]) {
						t.Errorf("%s.csv changed in the round trip:\n%s---\n%s", k, first[k], second[k])
					}
					if !sameCells(t, format, first[k], second[k]) {
						t.Errorf("%s.%s cells changed in the round trip", k, format)
					}
				}
				if format == bulk.CSV {
					if p := string(first["purchasers"]); strings.Contains(p, "staff@") || !strings.Contains(p, ",GBP,15.00,active") {
						t.Errorf("purchasers.csv:\n%s", p)
					}
					// The station password does not travel: the imported station has none.
					var st struct {
						HasPassword bool `json:"has_password"`
					}
					dst.must(200, "GET", "/api/v1/stations/CP-1", nil, &st)
					if st.HasPassword {
						t.Error("an exported station password came back")
					}
				}
			}

			// The same over the command line: export to files, import into a fresh store, export again.
			dir := t.TempDir()
			fresh := o.DSN(t)
			for _, k := range bulk.Names() {
				for _, format := range []string{bulk.CSV, bulk.XLSX} {
					file := filepath.Join(dir, k+"."+format)
					if _, stderr, err := runEVCS(t, "export", "--db", src.M.Cfg.DB, "--kind", k, "--out", file); err != nil {
						t.Fatalf("evcs export %s: %v %s", k, err, stderr)
					}
				}
				out, stderr, err := runEVCS(t, "import", "--db", fresh, filepath.Join(dir, k+".csv"))
				if err != nil || !strings.HasPrefix(out, "imported ") || stderr != "" {
					t.Fatalf("evcs import %s: %v %q %q", k, err, out, stderr)
				}
				again, _, err := runEVCS(t, "export", "--db", fresh, "--kind", k)
				want, _ := os.ReadFile(filepath.Join(dir, k+".csv"))
				if err != nil || again != string(want) {
					t.Errorf("CLI round trip of %s:\n%s---\n%s", k, want, again)
				}
				xlsx, _ := os.ReadFile(filepath.Join(dir, k+".xlsx"))
				tx, err1 := bulk.Read(bytes.NewReader(xlsx), bulk.XLSX, k)
				tc, err2 := bulk.Read(bytes.NewReader(want), bulk.CSV, k)
				if err1 != nil || err2 != nil || len(tx.Rows) != len(tc.Rows) || len(tx.Rows) == 0 {
					t.Errorf("%s.xlsx and %s.csv differ: %v %v", k, k, err1, err2)
				}
			}
		})
	}
}

// TestImportBadRowChangesNothing: one bad row among good ones: 422 naming the line and column,
// and the store is as before; the CLI prints FILE:LINE: column: problem and fails.
func TestImportBadRowChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		csv := "name,email,currency\nAda,ada@example.com,EUR\nBo,not-an-email,EUR\nCy,cy@example.com,EURO\nDee,dee@example.com,\n"
		code, ct, b := s.raw("POST", "/api/v1/imports?kind=purchasers", "text/csv", []byte(csv))
		if code != 422 || !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("status %d %s: %s", code, ct, b)
		}
		var p struct {
			Status int
			Detail string
			Errors []struct {
				Line    int
				Field   string
				Message string
			}
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if p.Status != 422 || len(p.Errors) != 2 || p.Errors[0].Line != 3 || p.Errors[0].Field != "email" ||
			p.Errors[1].Line != 4 || p.Errors[1].Field != "currency" || p.Errors[0].Message == "" {
			t.Fatalf("problem: %s", b)
		}
		var users struct{ Items []any }
		s.must(200, "GET", "/api/v1/users?role=purchaser", nil, &users)
		if len(users.Items) != 0 {
			t.Fatalf("a bad file stored %d purchasers", len(users.Items))
		}
		// An unknown kind and an unreadable body are refused too.
		if code, _, b := s.raw("POST", "/api/v1/imports?kind=planets", "text/csv", []byte(csv)); code != 422 {
			t.Fatalf("unknown kind: %d %s", code, b)
		}
		if code, _, b := s.raw("POST", "/api/v1/imports?kind=sites", bulk.ContentType(bulk.XLSX), []byte("not a zip")); code != 422 {
			t.Fatalf("bad xlsx: %d %s", code, b)
		}

		file := filepath.Join(t.TempDir(), "purchasers.csv")
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, err := runEVCS(t, "import", "--db", s.M.Cfg.DB, file)
		if err == nil || !strings.Contains(err.Error(), "2 bad row(s); nothing was imported") ||
			!strings.Contains(stderr, file+":3: email: ") || !strings.Contains(stderr, file+":4: currency: ") {
			t.Fatalf("CLI: %v\n%s", err, stderr)
		}
		s.must(200, "GET", "/api/v1/users?role=purchaser", nil, &users)
		if len(users.Items) != 0 {
			t.Fatalf("a bad file stored %d purchasers", len(users.Items))
		}
	})
}

// TestImportTenThousandRowsCLI: `evcs import` of a generated 10,000-row file takes seconds.
func TestImportTenThousandRowsCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	var b strings.Builder
	b.WriteString("id,account_id,name,email,currency\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "usr_%05d,acc_%05d,Driver %d,driver%05d@example.com,EUR\n", i, i, i, i)
	}
	file := filepath.Join(t.TempDir(), "purchasers.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			dsn := o.DSN(t)
			start := time.Now()
			out, stderr, err := runEVCS(t, "import", "--db", dsn, file)
			took := time.Since(start)
			if err != nil || !strings.HasPrefix(out, "imported 10000 purchasers") {
				t.Fatalf("%v %s %s", err, out, stderr)
			}
			t.Logf("evcs import of 10,000 rows: %s (%s)", took.Round(time.Millisecond), strings.TrimSpace(out))
		})
	}
}
