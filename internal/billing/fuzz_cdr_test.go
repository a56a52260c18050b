package billing

import (
	"testing"
	"time"
)

// FuzzPriceJSON feeds arbitrary CDRs to the rating engine with a fixed, valid time-of-use
// tariff: whatever the input, it answers with a priced CDR or an error, never a panic.
func FuzzPriceJSON(f *testing.F) {
	tariff := []byte(`{"country_code":"NL","party_id":"EVC","id":"t","currency":"EUR","elements":[
 {"price_components":[{"type":"FLAT","price":0.5,"vat":21,"step_size":1}]},
 {"price_components":[{"type":"ENERGY","price":0.40,"vat":21,"step_size":100}],"restrictions":{"start_time":"18:00","end_time":"22:00","max_kwh":50}},
 {"price_components":[{"type":"ENERGY","price":0.25,"vat":21,"step_size":1},{"type":"TIME","price":1.2,"step_size":60}]},
 {"price_components":[{"type":"PARKING_TIME","price":2,"vat":21,"step_size":300}],"restrictions":{"min_duration":1800}}]}`)
	for _, seed := range []string{
		`{"start_date_time":"2026-11-24T16:30:00Z","end_date_time":"2026-11-24T18:30:00Z","currency":"EUR","charging_periods":[{"start_date_time":"2026-11-24T16:30:00Z","dimensions":[{"type":"ENERGY","volume":6},{"type":"TIME","volume":0.5}]},{"start_date_time":"2026-11-24T17:00:00Z","dimensions":[{"type":"ENERGY","volume":6.345},{"type":"TIME","volume":1}]}]}`,
		`{"start_date_time":"2026-11-24T16:30:00Z","end_date_time":"2026-11-24T16:30:00Z","currency":"EUR","charging_periods":[]}`,
		`{"start_date_time":"x","end_date_time":"2026-11-24T16:30:00Z","currency":"EUR","charging_periods":[]}`,
		`{"start_date_time":"2026-11-24T16:30:00Z","end_date_time":"2026-11-24T19:30:00Z","currency":"EUR","charging_periods":[{"start_date_time":"2026-11-24T16:30:00Z","dimensions":[{"type":"PARKING_TIME","volume":1e9},{"type":"ENERGY","volume":-1}]}]}`,
		`{}`, `[]`, `null`, `{"currency":"EUR","charging_periods":[{}]}`,
	} {
		f.Add([]byte(seed))
	}
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	f.Fuzz(func(t *testing.T, cdr []byte) {
		_, _ = PriceJSON(cdr, tariff, ams)
	})
}

// FuzzBuildCDR: any usage (times in any order, any energies) gives periods whose energy adds
// up to the session's, and rating them does not panic.
func FuzzBuildCDR(f *testing.F) {
	f.Add(int64(0), int64(7200), int64(3600), int64(6000), int64(5400), int64(12345))
	f.Add(int64(100), int64(50), int64(75), int64(-5), int64(60), int64(1<<40))
	tariff, err := DecodeTariff([]byte(`{"country_code":"NL","party_id":"EVC","id":"t","currency":"EUR","elements":[
 {"price_components":[{"type":"ENERGY","price":0.40,"vat":21,"step_size":1}],"restrictions":{"start_time":"18:00","end_time":"22:00"}},
 {"price_components":[{"type":"ENERGY","price":0.25,"vat":21,"step_size":1}],"restrictions":{"max_kwh":10}},
 {"price_components":[{"type":"ENERGY","price":0.30,"step_size":1},{"type":"PARKING_TIME","price":2,"vat":21,"step_size":60}]}]}`))
	if err != nil {
		f.Fatal(err)
	}
	base := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, start, end, t1, wh1, t2, wh2 int64) {
		clamp := func(s int64) time.Time { return base.Add(time.Duration(s%(3*86400)) * time.Second) }
		u := Usage{Start: clamp(start), End: clamp(end), Currency: "EUR",
			Points: []UsagePoint{{clamp(t1), wh1 % 1_000_000}, {clamp(t2), wh2 % 1_000_000}}}
		if !u.End.After(u.Start) {
			return
		}
		cdr := BuildCDR(u, &tariff, time.UTC)
		total := int64(0)
		for _, p := range cdr.ChargingPeriods {
			d, _ := p.Dimensions[0].Volume.Decimal().Mul(MustNumber("1000").Decimal())
			w, _, _ := d.Int64(0)
			total += w
		}
		pts := normalise(u)
		if want := pts[len(pts)-1].Wh; total != want {
			t.Fatalf("periods hold %d Wh, the session %d", total, want)
		}
		_, _ = Price(cdr, tariff, time.UTC)
	})
}
