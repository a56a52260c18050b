package bulk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/bulk"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

var bg = context.Background() // the System actor

func newApp(t *testing.T, s store.Store) *app.App {
	a := app.New(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(a.Close)
	return a
}

func openStore(t *testing.T, dsn string) store.Store {
	s, err := storetest.Open(bg, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFormatOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		head string
		want string
	}{
		{"sites.csv", "", bulk.CSV},
		{"SITES.XLSX", "", bulk.XLSX},
		{"text/csv; charset=utf-8", "", bulk.CSV},
		{bulk.ContentType(bulk.XLSX), "", bulk.XLSX},
		{"", "PK\x03\x04rest", bulk.XLSX},
		{"", "id,name\n", bulk.CSV},
		{"", "", ""},
	} {
		if got := bulk.FormatOf(tc.in, []byte(tc.head)); got != tc.want {
			t.Errorf("FormatOf(%q, %q) = %q, want %q", tc.in, tc.head, got, tc.want)
		}
	}
}

func TestReadCSVLinesAndErrors(t *testing.T) {
	// A byte-order mark, a quoted field over two lines and a blank line: lines are the file's.
	src := "\ufeffid,name\nsite_1,\"two\nlines\"\n\nsite_2,B\n"
	tab, err := bulk.Read(strings.NewReader(src), bulk.CSV, "sites")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Columns[0] != "id" || len(tab.Rows) != 2 || tab.Rows[0].Line != 2 || tab.Rows[1].Line != 5 || tab.Rows[0].Cells[1] != "two\nlines" {
		t.Fatalf("table = %+v", tab)
	}
	_, err = bulk.Read(strings.NewReader("id,name\nsite_1,\"open\n"), bulk.CSV, "sites")
	var ie *app.ImportError
	if !errors.As(err, &ie) || ie.Errors[0].Line == 0 {
		t.Fatalf("bad quote: %v", err)
	}
	if _, err := bulk.Read(strings.NewReader(""), bulk.CSV, "sites"); !errors.As(err, &ie) || ie.Errors[0].Line != 1 {
		t.Fatalf("empty file: %v", err)
	}
}

func TestXLSXTableRoundTrip(t *testing.T) {
	in := &bulk.Table{Sheet: "sites", Columns: []string{"id", "grid_limit_kw", "name"},
		Rows: []bulk.Row{{Cells: []string{"site_1", "150.5", "0042"}}, {Cells: []string{"site_2", "", "=1+1"}}}}
	var b bytes.Buffer
	if err := bulk.Write(&b, bulk.XLSX, in, nil); err != nil {
		t.Fatal(err)
	}
	out, err := bulk.Read(&b, bulk.XLSX, "sites")
	if err != nil {
		t.Fatal(err)
	}
	// Cells stay text: no number formatting of "0042", no formula from "=1+1".
	if fmt.Sprint(out.Columns) != fmt.Sprint(in.Columns) || len(out.Rows) != 2 {
		t.Fatalf("read back %+v", out)
	}
	for i := range in.Rows {
		got := append(out.Rows[i].Cells, make([]string, 3-len(out.Rows[i].Cells))...)
		if fmt.Sprint(got) != fmt.Sprint(in.Rows[i].Cells) || out.Rows[i].Line != i+2 {
			t.Errorf("row %d = %q (line %d), want %q", i, got, out.Rows[i].Line, in.Rows[i].Cells)
		}
	}
}

// seed creates one of everything, with every optional field set somewhere.
func seed(t *testing.T, a *app.App) {
	t.Helper()
	kw := func(s string) *energy.KW { w, _ := energy.ParseKW(s); k := energy.KW(w); return &k }
	site, err := app.Create(bg, a, app.Sites, asset.SiteFields{Name: "Depot, \"North\"", TimeZone: "Europe/Amsterdam", GridLimitKW: kw("250.125"),
		Address: &asset.Address{Street: "Kade 1", City: "Utrecht", PostalCode: "3511 AA", Country: "NL"}})
	must(t, err)
	_, err = app.Create(bg, a, app.Sites, asset.SiteFields{Name: "Closed", TimeZone: "UTC"})
	must(t, err)
	must2(app.Create(bg, a, app.Stations, app.StationInput{ID: "CP-1", OCPPPassword: "a-long-station-secret", StationFields: asset.StationFields{SiteID: site.ID, Kind: "dc", Name: "Fast", V2X: true}}))
	must2(app.Create(bg, a, app.Stations, app.StationInput{ID: "CP-2", StationFields: asset.StationFields{SiteID: site.ID}}))
	u, err := app.Create(bg, a, app.Users, app.UserInput{Currency: "SEK", Password: "a-login-password", UserFields: account.UserFields{Name: "Åsa Öberg", Email: "asa@example.com", Phone: "+46 8 123", Role: account.RolePurchaser, Language: "sv"}})
	must(t, err)
	must2(app.Patch(bg, a, app.Accounts, u.AccountID, []byte(`{"credit_limit":"25.50"}`)))
	u2, err := app.Create(bg, a, app.Users, app.UserInput{UserFields: account.UserFields{Name: "Bo", Email: "bo@example.com", Role: account.RolePurchaser}})
	must(t, err)
	must2(app.Deactivate(bg, a, app.Users, u2.ID))
	must2(app.Create(bg, a, app.Users, app.UserInput{UserFields: account.UserFields{Name: "Staff", Email: "staff@example.com", Role: account.RoleOperator}}))
	exp := time.Date(2027, 3, 1, 12, 30, 0, 123456000, time.UTC)
	must2(app.Create(bg, a, app.IdTokens, account.IdTokenFields{UID: "04A1B2C3", Type: "ISO14443", AccountID: u.AccountID, ExpiresAt: &exp, Label: "card; blue"}))
	must2(app.Create(bg, a, app.IdTokens, account.IdTokenFields{UID: "APP-9", Type: "Central", AccountID: u2.AccountID, Status: "blocked"}))
	must2(app.Create(bg, a, app.Vehicles, account.VehicleFields{OwnerID: u.ID, VIN: "WVWZZZ1JZXW000001", Plate: "ABC 123", Make: "VW", Model: "ID.3",
		BatteryWh: 58000, MaxACKW: kw("11"), MaxDCKW: kw("120.5"), ConnectorTypes: []string{"IEC_62196_T2", "IEC_62196_T2_COMBO"}, MinSoCPct: 20}))
	v, err := app.Create(bg, a, app.Vehicles, account.VehicleFields{OwnerID: u2.ID, Plate: "XY-12"})
	must(t, err)
	must2(app.Deactivate(bg, a, app.Vehicles, v.ID))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func must2[T any](_ T, err error) {
	if err != nil {
		panic(err)
	}
}

func exportAll(t *testing.T, a *app.App, format string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range bulk.Names() {
		var b bytes.Buffer
		if err := bulk.Export(bg, a, k, format, &b, nil); err != nil {
			t.Fatalf("export %s: %v", k, err)
		}
		out[k] = b.Bytes()
	}
	return out
}

// cellsOf reads an export back as its cell values.
func cellsOf(t *testing.T, format string, b []byte) string {
	tab, err := bulk.Read(bytes.NewReader(b), format, "")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(tab.Columns, tab.Rows)
}

// TestRoundTrip: export, import into an empty store, export again: the same files, for each
// format, on each engine.
func TestRoundTrip(t *testing.T) {
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			src := newApp(t, openStore(t, o.DSN(t)))
			seed(t, src)
			for _, format := range []string{bulk.CSV, bulk.XLSX} {
				first := exportAll(t, src, format)
				dst := newApp(t, openStore(t, o.DSN(t)))
				for _, k := range bulk.Names() {
					res, err := bulk.Import(bg, dst, k, format, bytes.NewReader(first[k]), app.ImportOptions{})
					if err != nil {
						t.Fatalf("%s import %s: %v", format, k, err)
					}
					if res.Created == 0 {
						t.Fatalf("%s import %s created nothing", format, k)
					}
				}
				second := exportAll(t, dst, format)
				for _, k := range bulk.Names() {
					if format == bulk.CSV && !bytes.Equal(first[k], second[k]) {
						t.Errorf("%s differs after a round trip:\n%s\n---\n%s", k, first[k], second[k])
					}
					if a, b := cellsOf(t, format, first[k]), cellsOf(t, format, second[k]); a != b {
						t.Errorf("%s %s cells differ:\n%s\n%s", format, k, a, b)
					}
				}
			}
			var b bytes.Buffer
			must(t, bulk.Export(bg, src, "purchasers", bulk.CSV, &b, nil))
			if strings.Contains(b.String(), "staff@") || strings.Contains(b.String(), "password") {
				t.Fatalf("purchasers export has staff or secrets:\n%s", b.String())
			}
			t.Logf("purchasers.csv:\n%s", b.String())
		})
	}
}

func TestImportNamesEveryBadRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		a := newApp(t, s)
		site, err := app.Create(bg, a, app.Sites, asset.SiteFields{Name: "A", TimeZone: "UTC"})
		must(t, err)
		csv := "id,site_id,kind,v2x\n" +
			"CP-1," + site.ID + ",ac,true\n" + // good
			"CP-2,site_nope,ac,false\n" + // unknown site (store check)
			"CP-3," + site.ID + ",ac,maybe\n" + // not a boolean (parse)
			"CP-1," + site.ID + ",dc,\n" + // duplicate id in the file
			"CP-4," + site.ID + ",hydrogen,\n" // bad kind (rule)
		_, err = bulk.Import(bg, a, "stations", bulk.CSV, strings.NewReader(csv), app.ImportOptions{})
		var ie *app.ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("err = %v", err)
		}
		got := fmt.Sprint(ie.Errors)
		for _, want := range []string{"{3 site_id", "{4 v2x", "{5 id", "{6 kind"} {
			if !strings.Contains(got, want) {
				t.Errorf("errors %s lack %s", got, want)
			}
		}
		if len(ie.Errors) != 4 {
			t.Errorf("errors = %s", got)
		}
		n, _, _ := app.List(bg, a, app.Stations, store.Query{})
		if len(n) != 0 {
			t.Fatalf("a bad file stored %d stations", len(n))
		}
		// Header problems: an unknown column and a missing required one, on line 1.
		_, err = bulk.Import(bg, a, "stations", bulk.CSV, strings.NewReader("id,colour\nCP-9,red\n"), app.ImportOptions{})
		if !errors.As(err, &ie) || fmt.Sprint(ie.Errors) != fmt.Sprint([]app.RowError{
			{Line: 1, Field: "colour", Message: ie.Errors[0].Message}, {Line: 1, Field: "site_id", Message: "required column is missing"}}) {
			t.Fatalf("header errors: %v", err)
		}
	})
}

// TestImportTenThousandRows: a 10,000-row file imports in seconds (one transaction).
func TestImportTenThousandRows(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	var b strings.Builder
	b.WriteString("name,email,currency\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "Driver %d,driver%05d@example.com,EUR\n", i, i)
	}
	storetest.Each(t, func(t *testing.T, s store.Store) {
		a := newApp(t, s)
		start := time.Now()
		res, err := bulk.Import(bg, a, "purchasers", bulk.CSV, strings.NewReader(b.String()), app.ImportOptions{})
		took := time.Since(start)
		if err != nil || res.Created != 10000 {
			t.Fatalf("import: %+v %v", res, err)
		}
		t.Logf("10,000 purchasers (with their accounts) imported in %s", took.Round(time.Millisecond))
		start = time.Now()
		var out bytes.Buffer
		must(t, bulk.Export(bg, a, "purchasers", bulk.CSV, &out, nil))
		t.Logf("and exported in %s (%d bytes)", time.Since(start).Round(time.Millisecond), out.Len())
	})
}
