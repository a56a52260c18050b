package billing

import (
	"testing"
	"time"
)

func TestBuildCDRSplitsAtTariffBoundariesAndParking(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	// 25 Nov 2026 (CET, UTC+1): charging 17:30–19:00 local at a steady 4 kWh/h (6 kWh),
	// then parked until 19:30 local.
	start := time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC)
	u := Usage{Start: start, End: start.Add(2 * time.Hour), Currency: "EUR", TariffID: "tou",
		Points: []UsagePoint{{start.Add(time.Hour), 4000}, {start.Add(90 * time.Minute), 6000}, {start.Add(2 * time.Hour), 6000}}}
	tariff, err := DecodeTariff([]byte(`{"country_code":"NL","party_id":"EVC","id":"tou","currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":0.40,"vat":21,"step_size":1}],"restrictions":{"start_time":"18:00","end_time":"22:00"}},
		{"price_components":[{"type":"ENERGY","price":0.25,"vat":21,"step_size":1}]},
		{"price_components":[{"type":"PARKING_TIME","price":2.00,"vat":21,"step_size":60}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cdr := BuildCDR(u, &tariff, ams)
	// Expected periods: 17:30–18:00 local charging (30 min × 4 kWh/h = 2 kWh), 18:00–19:00
	// charging (4 kWh), 19:00–19:30 parking (0 kWh, 0.5 h).
	want := []struct {
		start  time.Time
		kwh    string
		dim    CdrDimensionType
		volume string
	}{
		{start, "2", CdrTime, "0.5"},
		{start.Add(30 * time.Minute), "4", CdrTime, "1"},
		{start.Add(90 * time.Minute), "0", CdrParkingTime, "0.5"},
	}
	if len(cdr.ChargingPeriods) != len(want) {
		t.Fatalf("periods = %+v", cdr.ChargingPeriods)
	}
	for i, w := range want {
		p := cdr.ChargingPeriods[i]
		if !p.StartDateTime.Equal(w.start) || p.Dimensions[0].Volume.String() != w.kwh || p.Dimensions[1].Type != w.dim || p.Dimensions[1].Volume.String() != w.volume {
			t.Errorf("period %d = %s %v, want %s %s kWh %s %s", i, p.StartDateTime, p.Dimensions, w.start, w.kwh, w.dim, w.volume)
		}
	}
	priced, err := Price(cdr, tariff, ams)
	if err != nil {
		t.Fatal(err)
	}
	// Energy: 2 kWh × 0.25 + 4 kWh × 0.40 = 0.50 + 1.60 = 2.10 excl. VAT.
	// Parking: 0.5 h × 2.00 = 1.00 excl. VAT. Total 3.10 excl.; × 1.21 = 3.751 → 3.75 incl.
	if got := priced.TotalCost.ExclVat.String(); got != "3.10" && got != "3.1" {
		t.Errorf("total excl. VAT = %s, want 3.10", got)
	}
	if priced.TotalCost.InclVat == nil || (priced.TotalCost.InclVat.String() != "3.75") {
		t.Errorf("total incl. VAT = %v, want 3.75", priced.TotalCost.InclVat)
	}
}

func TestBuildCDRKeepsEveryWattHour(t *testing.T) {
	// 7 Wh over 3 equal slices cut by two boundaries: the slices get 2, 2, 3 (remainder last)
	// and never lose the odd Wh.
	start := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	tariff, err := DecodeTariff([]byte(`{"country_code":"NL","party_id":"EVC","id":"x","currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":1,"step_size":1}],"restrictions":{"start_time":"10:01","end_time":"10:02"}},
		{"price_components":[{"type":"ENERGY","price":1,"step_size":1}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	u := Usage{Start: start, End: start.Add(3 * time.Minute), Currency: "EUR", Points: []UsagePoint{{start.Add(3 * time.Minute), 7}}}
	cdr := BuildCDR(u, &tariff, time.UTC)
	if len(cdr.ChargingPeriods) != 3 {
		t.Fatalf("periods = %+v", cdr.ChargingPeriods)
	}
	sum := int64(0)
	for _, p := range cdr.ChargingPeriods {
		d := p.Dimensions[0].Volume.Decimal()
		wh, _ := d.Mul(MustNumber("1000").Decimal())
		w, _, _ := wh.Int64(0)
		sum += w
	}
	if sum != 7 {
		t.Fatalf("energy in periods = %d Wh, want 7", sum)
	}
	// kWh thresholds cut too: crossing 0.004 kWh happens 4/7 of the way through.
	tk, _ := DecodeTariff([]byte(`{"country_code":"NL","party_id":"EVC","id":"k","currency":"EUR","elements":[
		{"price_components":[{"type":"ENERGY","price":1,"step_size":1}],"restrictions":{"max_kwh":0.004}},
		{"price_components":[{"type":"ENERGY","price":2,"step_size":1}]}]}`))
	cdr = BuildCDR(u, &tk, time.UTC)
	if len(cdr.ChargingPeriods) != 2 || cdr.ChargingPeriods[0].Dimensions[0].Volume.String() != "0.004" {
		t.Fatalf("kWh cut: %+v", cdr.ChargingPeriods)
	}
}
