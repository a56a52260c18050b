package billing

import "testing"

// A typical tariff: energy, an evening time-of-use energy price, parking; a 6-period CDR.
func BenchmarkPrice(b *testing.B) {
	tr := mustTariff(b, tariffJSON("EUR", `"min_price":{"excl_vat":1.00,"incl_vat":1.21}`, `[
		{"price_components":[{"type":"FLAT","price":0.35,"vat":21,"step_size":1},{"type":"ENERGY","price":0.29,"vat":21,"step_size":1}]},
		{"price_components":[{"type":"ENERGY","price":0.45,"vat":21,"step_size":1}],"restrictions":{"start_time":"17:00","end_time":"21:00","day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
		{"price_components":[{"type":"PARKING_TIME","price":3.00,"vat":21,"step_size":300}],"restrictions":{"min_duration":1800}}]`))
	// the time-of-use element must come first to win over the plain energy price
	tr.Elements[0], tr.Elements[1] = tr.Elements[1], tr.Elements[0]
	c := mustCDR(b, cdrJSON("EUR", "2024-01-08T15:00:00Z", "2024-01-08T18:40:00Z",
		"2024-01-08T15:00:00Z ENERGY=12.5 TIME=0.5 MAX_POWER=25",
		"2024-01-08T15:30:00Z ENERGY=11.25 TIME=0.5 MAX_POWER=22.5",
		"2024-01-08T16:00:00Z ENERGY=10.1 TIME=1 MAX_POWER=11",
		"2024-01-08T17:00:00Z ENERGY=4.75 TIME=0.5 MAX_POWER=11",
		"2024-01-08T17:30:00Z ENERGY=1.2 TIME=0.25 MAX_POWER=5",
		"2024-01-08T17:45:00Z PARKING_TIME=0.9167"))
	loc := mustLoc(b, "Europe/Amsterdam")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Price(c, tr, loc); err != nil {
			b.Fatal(err)
		}
	}
}
