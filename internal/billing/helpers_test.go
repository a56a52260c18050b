package billing

import (
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
