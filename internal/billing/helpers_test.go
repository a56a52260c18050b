package billing

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the host's zoneinfo
)

func mustTariff(t testing.TB, js string) Tariff {
	t.Helper()
	tr, err := DecodeTariff([]byte(js))
	if err != nil {
		t.Fatalf("DecodeTariff: %v", err)
	}
	return tr
}

func mustCDR(t testing.TB, js string) CDR {
	t.Helper()
	c, err := DecodeCDR([]byte(js))
	if err != nil {
		t.Fatalf("DecodeCDR: %v", err)
	}
	return c
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// amt formats an Amount as "excl/incl" ("excl/-" when incl is omitted), for compact tables.
func amt(a Amount) string {
	if a.InclVat == nil {
		return a.ExclVat.String() + "/-"
	}
	return a.ExclVat.String() + "/" + a.InclVat.String()
}

// cdrJSON builds a CDR: each period is "START TYPE=volume TYPE=volume ...".
func cdrJSON(currency, start, end string, periods ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"id":"c1","currency":%q,"start_date_time":%q,"end_date_time":%q,"charging_periods":[`, currency, start, end)
	for i, p := range periods {
		f := strings.Fields(p)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"start_date_time":%q,"dimensions":[`, f[0])
		for j, d := range f[1:] {
			kv := strings.SplitN(d, "=", 2)
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type":%q,"volume":%s}`, kv[0], kv[1])
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// tariffJSON wraps elements (a JSON array) and extra top-level fields in a valid tariff.
func tariffJSON(currency, extra, elements string) string {
	if extra != "" {
		extra += ","
	}
	return `{"country_code":"DE","party_id":"ALL","id":"t1","currency":"` + currency + `",` + extra +
		`"elements":` + elements + `,"last_updated":"2024-01-01T00:00:00Z"}`
}
