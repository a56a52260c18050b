package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

func TestPeriodsAcrossDST(t *testing.T) {
	for _, c := range []struct {
		tz, from, to, period string
		hours                map[string]int64
	}{
		{"Europe/Amsterdam", "2026-03-28", "2026-03-31", Day, map[string]int64{"2026-03-28": 24, "2026-03-29": 23, "2026-03-30": 24}},
		{"Europe/Amsterdam", "2026-10-24", "2026-10-27", Day, map[string]int64{"2026-10-24": 24, "2026-10-25": 25, "2026-10-26": 24}},
		{"Europe/Amsterdam", "2026-03-23", "2026-04-06", Week, map[string]int64{"2026-W13": 167, "2026-W14": 168}},
		{"America/New_York", "2026-02-01", "2026-04-01", Month, map[string]int64{"2026-02": 672, "2026-03": 743}},
		{"UTC", "2026-03-29", "2026-03-29T03:00:00Z", Hour, map[string]int64{"2026-03-29T00:00Z": 1, "2026-03-29T01:00Z": 1, "2026-03-29T02:00Z": 1}},
		{"Europe/Amsterdam", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", Hour, map[string]int64{"2026-10-25T02:00+02:00": 1, "2026-10-25T02:00+01:00": 1}},
		{"Asia/Tokyo", "2026-01-01", "2026-01-03", "", map[string]int64{"": 48}},
	} {
		r, err := ParseRange(c.from, c.to, c.tz, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := r.Periods(c.period).Hours()
		if len(got) != len(c.hours) {
			t.Errorf("%s %s: %v, want %v", c.tz, c.period, got, c.hours)
		}
		for k, v := range c.hours {
			if got[k] != v {
				t.Errorf("%s %s %s: %d hours, want %d (all %v)", c.tz, c.period, k, got[k], v, got)
			}
		}
	}
}

func TestSpreadAddsUp(t *testing.T) {
	start := time.Date(2026, 3, 1, 10, 40, 0, 0, time.UTC)
	sh := Spread(start, start.Add(2*time.Hour+30*time.Minute), 10001)
	var wh, sec int64
	for _, h := range sh {
		wh += h.Wh
		sec += h.Seconds
	}
	if len(sh) != 4 || wh != 10001 || sec != 9000 || sh[0].Seconds != 1200 || sh[3].Seconds != 600 {
		t.Errorf("%+v", sh)
	}
}

func TestWritersReadBack(t *testing.T) {
	tb := &Table{Name: "revenue", Columns: []Column{{"day", KindString}, {"sessions", KindInt}, {"revenue_excl_vat", KindDecimal}},
		Rows: [][]any{{"2026-03-01", int64(3), "12.34"}, {"2026-03-02", int64(0), "0.00"}}}
	var b bytes.Buffer
	if err := tb.WriteCSV(&b, nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][2] != "revenue_excl_vat" || recs[1][2] != "12.34" || recs[1][1] != "3" {
		t.Errorf("csv %v %v", recs, err)
	}
	b.Reset()
	if err := tb.WriteXLSX(&b, nil); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("revenue")
	if err != nil || len(rows) != 3 || rows[0][1] != "sessions" || rows[1][2] != "12.34" || rows[2][0] != "2026-03-02" {
		t.Errorf("xlsx %v %v", rows, err)
	}
}

func TestParseGrouping(t *testing.T) {
	g, err := ParseGrouping("station, Day", Dims[Energy])
	if err != nil || g.Period != Day || g.Dim != Station || g.String() != "day,station" {
		t.Errorf("%+v %v", g, err)
	}
	for _, bad := range []string{"day,week", "site,station", "minute"} {
		if _, err := ParseGrouping(bad, Dims[Energy]); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestJSONCellsAsEncodingJSON: the fast paths for integer and plain string cells write what
// encoding/json writes, and strings that need escaping still go through it.
func TestJSONCellsAsEncodingJSON(t *testing.T) {
	cells := []any{int64(-12), int64(0), "plain-id_01", `quote " back \ slash`, "<b>&amp;", "Zürich", "tab\tnew\nline", nil, "12.50"}
	tb := &Table{Name: "x", Columns: []Column{{"c", KindString}}}
	for _, c := range cells {
		tb.Rows = append(tb.Rows, []any{c})
	}
	got, err := tb.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	want.WriteString(`{"report":"x","columns":[{"name":"c","type":"string"}],"rows":[`)
	for i, c := range cells {
		if i > 0 {
			want.WriteByte(',')
		}
		v, _ := json.Marshal(c)
		want.WriteString(`{"c":` + string(v) + `}`)
	}
	want.WriteString(`],"totals":{}}`)
	if string(got) != want.String() {
		t.Errorf("got  %s\nwant %s", got, want.String())
	}
}
