package billing

import (
	"strings"
	"testing"

	"github.com/evcs/evcs/internal/errs"
)

// want lists expected totals as "excl/incl" ("excl/-" when incl_vat is omitted); an empty
// string is not checked.
type want struct {
	total, fixed, energy, timeC, parking, reservation string
	totalEnergy, totalTime, totalParking              string
}

func checkPriced(t *testing.T, p Priced, w want) {
	t.Helper()
	for _, c := range []struct{ name, got, want string }{
		{"total_cost", amt(p.TotalCost), w.total},
		{"total_fixed_cost", amt(p.TotalFixedCost), w.fixed},
		{"total_energy_cost", amt(p.TotalEnergyCost), w.energy},
		{"total_time_cost", amt(p.TotalTimeCost), w.timeC},
		{"total_parking_cost", amt(p.TotalParkingCost), w.parking},
		{"total_reservation_cost", amt(p.TotalReservationCost), w.reservation},
		{"total_energy", p.TotalEnergy.String(), w.totalEnergy},
		{"total_time", p.TotalTime.String(), w.totalTime},
		{"total_parking_time", p.TotalParkingTime.String(), w.totalParking},
	} {
		if c.want != "" && c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}

const (
	// OCPI mod_tariffs example "Tariff example 0.25 euro per kWh + start fee" (tariff_9).
	elFlatEnergy = `[{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},
		{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`
	// OCPI example tariff_14_step_size: TIME 1.20/h (1800 s) and PARKING 1.00/h (900 s) before
	// 17:00; TIME 2.40/h (900 s) and PARKING 1.00/h (900 s) 17:00–20:00; TIME 2.40/h (900 s)
	// 20:00–23:59, no parking price. No VAT.
	elStepSize = `[
		{"price_components":[{"type":"TIME","price":1.20,"step_size":1800},{"type":"PARKING_TIME","price":1.00,"step_size":900}],
		 "restrictions":{"start_time":"00:00","end_time":"17:00"}},
		{"price_components":[{"type":"TIME","price":2.40,"step_size":900},{"type":"PARKING_TIME","price":1.00,"step_size":900}],
		 "restrictions":{"start_time":"17:00","end_time":"20:00"}},
		{"price_components":[{"type":"TIME","price":2.40,"step_size":900}],
		 "restrictions":{"start_time":"20:00","end_time":"23:59"}}]`
	// OCPI example tariff_4_complex.
	elComplex = `[
		{"price_components":[{"type":"FLAT","price":2.50,"vat":15.0,"step_size":1}]},
		{"price_components":[{"type":"TIME","price":1.00,"vat":20.0,"step_size":900}],"restrictions":{"max_current":32.00}},
		{"price_components":[{"type":"TIME","price":2.00,"vat":20.0,"step_size":600}],
		 "restrictions":{"min_current":32.00,"day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
		{"price_components":[{"type":"TIME","price":1.25,"vat":20.0,"step_size":600}],
		 "restrictions":{"min_current":32.00,"day_of_week":["SATURDAY","SUNDAY"]}},
		{"price_components":[{"type":"PARKING_TIME","price":5.00,"vat":10.0,"step_size":300}],
		 "restrictions":{"start_time":"09:00","end_time":"18:00","day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
		{"price_components":[{"type":"PARKING_TIME","price":6.00,"vat":10.0,"step_size":300}],
		 "restrictions":{"start_time":"10:00","end_time":"17:00","day_of_week":["SATURDAY"]}}]`
	// OCPI example tariff_17_reservation_with_expire_fee.
	elReservationExpireFee = `[
		{"price_components":[{"type":"FLAT","price":4.00,"vat":20.0,"step_size":1}],"restrictions":{"reservation":"RESERVATION_EXPIRES"}},
		{"price_components":[{"type":"TIME","price":2.00,"vat":20.0,"step_size":600}],"restrictions":{"reservation":"RESERVATION"}},
		{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`
)

func TestPrice(t *testing.T) {
	tests := []struct {
		name   string
		tariff string
		cdr    string
		zone   string
		want   want
	}{
		{
			// OCPI "Simple Tariff example 0.25 euro per kWh", 10 % VAT, 20 kWh:
			// 20 × 0.25 = 5.00; × 1.10 = 5.50. No TIME component: 2 h of charging cost nothing.
			name:   "ENERGY per kWh",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z", "2024-01-01T10:00:00Z ENERGY=20 TIME=2"),
			want:   want{total: "5.00/5.50", energy: "5.00/5.50", timeC: "0.00/0.00", fixed: "0.00/0.00", totalEnergy: "20", totalTime: "2", totalParking: "0"},
		},
		{
			// OCPI "0.25 euro per kWh + start fee": 0.50 (20 %) + 20 × 0.25 (10 %)
			// = 5.50 excl; 0.60 + 5.50 = 6.10 incl.
			name:   "FLAT start fee + ENERGY",
			tariff: tariffJSON("EUR", "", elFlatEnergy),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z", "2024-01-01T10:00:00Z ENERGY=20 TIME=2"),
			want:   want{total: "5.50/6.10", fixed: "0.50/0.60", energy: "5.00/5.50"},
		},
		{
			// FLAT is charged once, however many periods: 3 periods of 1 kWh at 0.25:
			// 0.50 + 0.75 = 1.25 excl; 0.60 + 0.825 = 1.425 → 1.43 incl (half-up).
			name:   "FLAT once over several periods",
			tariff: tariffJSON("EUR", "", elFlatEnergy),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T13:00:00Z",
				"2024-01-01T10:00:00Z ENERGY=1", "2024-01-01T11:00:00Z ENERGY=1", "2024-01-01T12:00:00Z ENERGY=1"),
			want: want{total: "1.25/1.43", fixed: "0.50/0.60", energy: "0.75/0.83"},
		},
		{
			// FLAT elements 08:00–20:00 1.00, else 0.50; ENERGY 0.10. Session starts 07:30, so
			// the FLAT element that matches at the start is the fallback: 0.50 once (not 1.00
			// again at 08:00). Energy 3 × 0.10 = 0.30. Total 0.80.
			name: "FLAT from the element matching at session start",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"FLAT","price":1.00,"vat":0,"step_size":1}],"restrictions":{"start_time":"08:00","end_time":"20:00"}},
				{"price_components":[{"type":"FLAT","price":0.50,"vat":0,"step_size":1}]},
				{"price_components":[{"type":"ENERGY","price":0.10,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T07:30:00Z", "2024-01-01T10:00:00Z",
				"2024-01-01T07:30:00Z ENERGY=1", "2024-01-01T08:00:00Z ENERGY=1", "2024-01-01T09:00:00Z ENERGY=1"),
			want: want{total: "0.80/0.80", fixed: "0.50/0.50", energy: "0.30/0.30"},
		},
		{
			// Same tariff, session at 08:30: the 1.00 FLAT element matches first; 1.00 + 0.30.
			name: "FLAT restricted element",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"FLAT","price":1.00,"vat":0,"step_size":1}],"restrictions":{"start_time":"08:00","end_time":"20:00"}},
				{"price_components":[{"type":"FLAT","price":0.50,"vat":0,"step_size":1}]},
				{"price_components":[{"type":"ENERGY","price":0.10,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T08:30:00Z", "2024-01-01T11:00:00Z",
				"2024-01-01T08:30:00Z ENERGY=1", "2024-01-01T09:00:00Z ENERGY=1", "2024-01-01T10:00:00Z ENERGY=1"),
			want: want{total: "1.30/1.30", fixed: "1.00/1.00"},
		},
		{
			// A FLAT whose restrictions first hold later (a 5.00 fee once the session lasts
			// 2 h) is charged once, from the first period where it holds.
			// 0.10 × 3 kWh + 5.00 = 5.30.
			name: "FLAT whose restriction holds later",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"FLAT","price":5.00,"vat":0,"step_size":1}],"restrictions":{"min_duration":7200}},
				{"price_components":[{"type":"ENERGY","price":0.10,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T13:00:00Z",
				"2024-01-01T10:00:00Z ENERGY=1", "2024-01-01T11:00:00Z ENERGY=1", "2024-01-01T12:00:00Z ENERGY=1"),
			want: want{total: "5.30/5.30", fixed: "5.00/5.00"},
		},
		{
			// OCPI "0.25 euro per kWh + minimum price" (min 0.50 / 0.55): 1 kWh costs
			// 0.25 / 0.275, raised to 0.50 / 0.55. The energy part stays what it cost.
			name:   "min_price raises the total",
			tariff: tariffJSON("EUR", `"min_price":{"excl_vat":0.50,"incl_vat":0.55}`, `[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T10:10:00Z", "2024-01-01T10:00:00Z ENERGY=1"),
			want:   want{total: "0.50/0.55", energy: "0.25/0.28"},
		},
		{
			// Same tariff, 20 kWh: 5.00 / 5.50 is above the minimum; unchanged.
			name:   "min_price not reached",
			tariff: tariffJSON("EUR", `"min_price":{"excl_vat":0.50,"incl_vat":0.55}`, `[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z", "2024-01-01T10:00:00Z ENERGY=20"),
			want:   want{total: "5.00/5.50"},
		},
		{
			// min_price without incl_vat: excl raised to 0.50, the incl. VAT total cannot be
			// known, so it is omitted.
			name:   "min_price without incl_vat",
			tariff: tariffJSON("EUR", `"min_price":{"excl_vat":0.50}`, `[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T10:10:00Z", "2024-01-01T10:00:00Z ENERGY=1"),
			want:   want{total: "0.50/-", energy: "0.25/0.28"},
		},
		{
			// OCPI "0.25 euro per kWh + start fee + max price" (max 10 / 11): 50 kWh:
			// 0.50 + 12.50 = 13.00 → 10.00; 0.60 + 13.75 = 14.35 → 11.00.
			name:   "max_price caps the total",
			tariff: tariffJSON("EUR", `"max_price":{"excl_vat":10.00,"incl_vat":11.00}`, elFlatEnergy),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T14:00:00Z", "2024-01-01T10:00:00Z ENERGY=50"),
			want:   want{total: "10.00/11.00", fixed: "0.50/0.60", energy: "12.50/13.75"},
		},
		{
			// Same, 30 kWh: 0.50 + 7.50 = 8.00; 0.60 + 8.25 = 8.85 (the spec's figures).
			name:   "max_price not reached",
			tariff: tariffJSON("EUR", `"max_price":{"excl_vat":10.00,"incl_vat":11.00}`, elFlatEnergy),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T14:00:00Z", "2024-01-01T10:00:00Z ENERGY=30"),
			want:   want{total: "8.00/8.85"},
		},
		{
			// OCPI "0.25 euro per kWh + parking fee + start fee": 20 kWh, 40 min parking billed
			// per 900 s → 45 min × 2.00/h = 1.50 (20 %: 1.80). 0.50 + 5.00 + 1.50 = 7.00;
			// 0.60 + 5.50 + 1.80 = 7.90. 0.6667 h = 2400.12 s → 2400 s.
			name: "PARKING_TIME with step 900",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},
				{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1},{"type":"PARKING_TIME","price":2.00,"vat":20.0,"step_size":900}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T12:40:00Z",
				"2024-01-01T10:00:00Z ENERGY=20 TIME=2", "2024-01-01T12:00:00Z PARKING_TIME=0.6667"),
			want: want{total: "7.00/7.90", parking: "1.50/1.80", totalParking: "0.6667", totalTime: "2.6667"},
		},
		{
			// OCPI "Simple Tariff example 2 euro per hour": 2.5 h → 5.00 / 5.50.
			name:   "TIME per hour",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"TIME","price":2.00,"vat":10.0,"step_size":60}]}]`),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T12:30:00Z", "2024-01-01T10:00:00Z TIME=2.5 ENERGY=30"),
			want:   want{total: "5.00/5.50", timeC: "5.00/5.50"},
		},
		{
			// OCPI "3 euro per hour, 5 euro per hour parking": 150 min charging (60 s steps)
			// = 7.50 / 8.25; 42 min parking in 300 s steps → 45 min = 3.75 / 4.50.
			// Total 11.25 / 12.75 (the spec's figures).
			name:   "TIME and PARKING_TIME",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"TIME","price":3.00,"vat":10.0,"step_size":60},{"type":"PARKING_TIME","price":5.00,"vat":20.0,"step_size":300}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T13:12:00Z",
				"2024-01-01T10:00:00Z TIME=2.5 ENERGY=20", "2024-01-01T12:30:00Z PARKING_TIME=0.7"),
			want: want{total: "11.25/12.75", timeC: "7.50/8.25", parking: "3.75/4.50"},
		},
		{
			// OCPI "Simple Tariff example with alternative URL": 0.25/kWh billed per 100 Wh;
			// 20.45 kWh → 20.5 kWh → 5.125 → 5.13 (half-up); incl 5.6375 → 5.64.
			// (The spec text says 5.50, a slip: its own 0.22 variant, 4.51, is 20.5 × 0.22.)
			name:   "ENERGY step 100 Wh",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":100}]}]`),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z", "2024-01-01T10:00:00Z ENERGY=20.45"),
			want:   want{total: "5.13/5.64"},
		},
		{
			// Energy step across elements: 0.40 up to 2 kWh (step 1 Wh), then 0.30 in 500 Wh
			// steps. 2 kWh × 0.40 = 0.80; 1.2 kWh × 0.30 = 0.36; the session's 3200 Wh are
			// rounded up with the LAST element's step to 3500 Wh: 300 Wh more at 0.30 = 0.09.
			// Total 1.25.
			name: "ENERGY step applies to the total, at the last element",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.40,"vat":0,"step_size":1}],"restrictions":{"max_kwh":2}},
				{"price_components":[{"type":"ENERGY","price":0.30,"vat":0,"step_size":500}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z",
				"2024-01-01T10:00:00Z ENERGY=2", "2024-01-01T10:30:00Z ENERGY=1.2"),
			want: want{total: "1.25/1.25", totalEnergy: "3.2"},
		},
		{
			// OCPI step_size "Example: switching to different Tariff Element #2": 16:35–17:10
			// charging. 25 min before 17:00 at 1.20/h = 0.50; 10 min after; total 35 min is
			// rounded with the last element's 900 s step to 45 min, so 20 min at 2.40/h = 0.80.
			// Total 1.30 (the spec's figure). No VAT given → incl omitted.
			name:   "TIME step when switching elements (#2)",
			tariff: tariffJSON("EUR", "", elStepSize),
			cdr: cdrJSON("EUR", "2024-01-01T16:35:00Z", "2024-01-01T17:10:00Z",
				"2024-01-01T16:35:00Z TIME=0.4167", "2024-01-01T17:00:00Z TIME=0.1667"),
			want: want{total: "1.30/-", timeC: "1.30/-"},
		},
		{
			// Example #1: 16:55 charge 10 min, then park 2 min. TIME: 5 min at 1.20/h = 0.10,
			// total 10 min → 15 min, 10 min at 2.40/h = 0.40 (the spec's figures).
			// PARKING: the spec says the 2 minutes fall "within the extra 5 minutes of
			// charging"; its complex example (42 min parking after 147 → 150 min charging,
			// billed 45 min) does not do that. We keep dimensions independent (doc.go):
			// 120 s parking in 900 s steps at 1.00/h = 0.25. Total 0.75.
			name:   "TIME step when switching elements (#1), parking billed on its own",
			tariff: tariffJSON("EUR", "", elStepSize),
			cdr: cdrJSON("EUR", "2024-01-01T16:55:00Z", "2024-01-01T17:07:00Z",
				"2024-01-01T16:55:00Z TIME=0.0833", "2024-01-01T17:00:00Z TIME=0.0833", "2024-01-01T17:05:00Z PARKING_TIME=0.0333"),
			want: want{total: "0.75/-", timeC: "0.50/-", parking: "0.25/-"},
		},
		{
			// "Switching to Free-of-Charge Tariff Element": 19:55 charge 10 min, park 2 min
			// after 20:00 where no element has PARKING_TIME. TIME 5 min + 5 min → 15 min at
			// 2.40/h = 0.60; parking free. Total 0.60 (the spec's figure).
			name:   "switch to a free element",
			tariff: tariffJSON("EUR", "", elStepSize),
			cdr: cdrJSON("EUR", "2024-01-01T19:55:00Z", "2024-01-01T20:07:00Z",
				"2024-01-01T19:55:00Z TIME=0.0833", "2024-01-01T20:00:00Z TIME=0.0833", "2024-01-01T20:05:00Z PARKING_TIME=0.0333"),
			want: want{total: "0.60/-", timeC: "0.60/-", parking: "0.00/0.00"},
		},
		{
			// A parking run ended by a free period is stepped with its own element: charge
			// 19:30–19:50 (20 min → 30 min at 2.40/h = 1.20), park 19:50–20:00 (10 min → 15 min
			// at 1.00/h = 0.25), park after 20:00 free. Total 1.45.
			name:   "step when the dimension becomes free",
			tariff: tariffJSON("EUR", "", elStepSize),
			cdr: cdrJSON("EUR", "2024-01-01T19:30:00Z", "2024-01-01T20:30:00Z",
				"2024-01-01T19:30:00Z TIME=0.3333", "2024-01-01T19:50:00Z PARKING_TIME=0.1667", "2024-01-01T20:00:00Z PARKING_TIME=0.5"),
			want: want{total: "1.45/-", timeC: "1.20/-", parking: "0.25/-"},
		},
		{
			// OCPI complex example, Monday 09:30, 147 min at max 16 A, 42 min parking:
			// FLAT 2.50 (15 %: 2.875); TIME <32 A 1.00/h, 900 s steps: 150 min = 2.50 (3.00);
			// PARKING weekdays 09–18 5.00/h, 300 s: 45 min = 3.75 (4.125).
			// Total 8.75 / 10.00 (the spec's figures). Parts rounded on their own: 2.88, 3.00,
			// 4.13 sum to 10.01: the total is rounded once from the unrounded sum 10.000.
			name:   "complex example, Monday",
			tariff: tariffJSON("EUR", "", elComplex),
			cdr: cdrJSON("EUR", "2024-01-08T09:30:00Z", "2024-01-08T12:39:00Z",
				"2024-01-08T09:30:00Z TIME=2.45 ENERGY=20 MAX_CURRENT=16", "2024-01-08T11:57:00Z PARKING_TIME=0.7"),
			want: want{total: "8.75/10.00", fixed: "2.50/2.88", timeC: "2.50/3.00", parking: "3.75/4.13"},
		},
		{
			// Complex example, Saturday 13:30, 114 min at min 43 A, 71 min parking:
			// TIME ≥32 A weekend 1.25/h, 600 s: 120 min = 2.50 (3.00); PARKING Saturday 10–17
			// 6.00/h, 300 s: 75 min = 7.50 (8.25); FLAT 2.50 (2.875).
			// Total 12.50 / 14.125 → 14.13 (the spec's "14,13", half-up).
			name:   "complex example, Saturday (min_current, day_of_week)",
			tariff: tariffJSON("EUR", "", elComplex),
			cdr: cdrJSON("EUR", "2024-01-06T13:30:00Z", "2024-01-06T16:35:00Z",
				"2024-01-06T13:30:00Z TIME=1.9 ENERGY=30 MIN_CURRENT=43", "2024-01-06T15:24:00Z PARKING_TIME=1.1833"),
			want: want{total: "12.50/14.13", timeC: "2.50/3.00", parking: "7.50/8.25"},
		},
		{
			// OCPI max_power example: 1 kWh at 6 kW (0.20) + 40 kWh at 48 kW (0.50 fallback)
			// + 0.5 kWh at 4 kW (0.20) = 0.20 + 20.00 + 0.10 = 20.30; × 1.20 = 24.36.
			name: "max_power",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.20,"vat":20.0,"step_size":1}],"restrictions":{"max_power":16.00}},
				{"price_components":[{"type":"ENERGY","price":0.35,"vat":20.0,"step_size":1}],"restrictions":{"max_power":32.00}},
				{"price_components":[{"type":"ENERGY","price":0.50,"vat":20.0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:10:00Z",
				"2024-01-01T10:00:00Z ENERGY=1 MAX_POWER=6", "2024-01-01T10:10:00Z ENERGY=40 MAX_POWER=48 MIN_POWER=40",
				"2024-01-01T11:00:00Z ENERGY=0.5 MAX_POWER=4"),
			want: want{total: "20.30/24.36"},
		},
		{
			// min_power: 0.50 at ≥ 50 kW, else 0.30. Periods at 22 kW (0.30 × 10 = 3.00) and
			// 50 kW (inclusive: 0.50 × 10 = 5.00). Total 8.00.
			name: "min_power inclusive",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.50,"vat":0,"step_size":1}],"restrictions":{"min_power":50}},
				{"price_components":[{"type":"ENERGY","price":0.30,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z",
				"2024-01-01T10:00:00Z ENERGY=10 POWER=22", "2024-01-01T10:30:00Z ENERGY=10 MIN_POWER=50 MAX_POWER=60"),
			want: want{total: "8.00/8.00"},
		},
		{
			// OCPI max_duration example: free for 30 min, 0.25 until 60 min, then 0.40.
			// 5 kWh in the first 30 min free; the next period starts at 1800 s (max_duration
			// exclusive): 1.2 kWh × 0.25 = 0.30; × 1.20 = 0.36.
			name: "max_duration switches elements",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.00,"vat":20.0,"step_size":1}],"restrictions":{"max_duration":1800}},
				{"price_components":[{"type":"ENERGY","price":0.25,"vat":20.0,"step_size":1}],"restrictions":{"max_duration":3600}},
				{"price_components":[{"type":"ENERGY","price":0.40,"vat":20.0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T10:40:00Z",
				"2024-01-01T10:00:00Z ENERGY=5", "2024-01-01T10:30:00Z ENERGY=1.2"),
			want: want{total: "0.30/0.36"},
		},
		{
			// First hour of the session parking is free, then 2.00/h until 3 h, then 3.00/h
			// (min_duration inclusive, max_duration exclusive, measured from session start).
			// Parking 10:30–11:00 free (1800 s), 11:00–13:00 at 2.00 = 4.00, 13:00–13:45 at
			// 3.00 = 2.25. Total 6.25; no VAT on a charged component → incl omitted.
			name: "min/max_duration on parking",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"PARKING_TIME","price":0.00,"step_size":60}],"restrictions":{"max_duration":3600}},
				{"price_components":[{"type":"PARKING_TIME","price":2.00,"step_size":60}],"restrictions":{"min_duration":3600,"max_duration":10800}},
				{"price_components":[{"type":"PARKING_TIME","price":3.00,"step_size":60}],"restrictions":{"min_duration":10800}}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T13:45:00Z",
				"2024-01-01T10:00:00Z TIME=0.5 ENERGY=5", "2024-01-01T10:30:00Z PARKING_TIME=0.5",
				"2024-01-01T11:00:00Z PARKING_TIME=2", "2024-01-01T13:00:00Z PARKING_TIME=0.75"),
			want: want{total: "6.25/-", parking: "6.25/-", totalParking: "3.25", totalTime: "3.75"},
		},
		{
			// min_kwh / max_kwh against energy charged before the period: first 10 kWh at
			// 0.50 (max_kwh 10, exclusive), then 0.30 (min_kwh 10, inclusive). Periods of
			// 6, 4, 5 kWh start at 0, 6, 10 kWh: 3.00 + 2.00 + 1.50 = 6.50.
			name: "min/max_kwh switches elements mid-session",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.50,"vat":0,"step_size":1}],"restrictions":{"max_kwh":10}},
				{"price_components":[{"type":"ENERGY","price":0.30,"vat":0,"step_size":1}],"restrictions":{"min_kwh":10}}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:30:00Z",
				"2024-01-01T10:00:00Z ENERGY=6", "2024-01-01T10:30:00Z ENERGY=4", "2024-01-01T11:00:00Z ENERGY=5"),
			want: want{total: "6.50/6.50", totalEnergy: "15"},
		},
		{
			// Night rate 22:00–06:00 (crosses midnight) 0.20, else 0.30, in Europe/Berlin
			// (UTC+1 in January). Local period starts 21:00 (1 kWh, 0.30), 23:00 (2 kWh, 0.20),
			// 05:30 (4 kWh, 0.20), 06:00 (8 kWh, end exclusive: 0.30).
			// 0.30 + 0.40 + 0.80 + 2.40 = 3.90.
			name: "time window crossing midnight",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.20,"vat":0,"step_size":1}],"restrictions":{"start_time":"22:00","end_time":"06:00"}},
				{"price_components":[{"type":"ENERGY","price":0.30,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-15T20:00:00Z", "2024-01-16T05:30:00Z",
				"2024-01-15T20:00:00Z ENERGY=1", "2024-01-15T22:00:00Z ENERGY=2",
				"2024-01-16T04:30:00Z ENERGY=4", "2024-01-16T05:00:00Z ENERGY=8"),
			zone: "Europe/Berlin",
			want: want{total: "3.90/3.90"},
		},
		{
			// Sunday rate 0.20, else 0.30, in Europe/Amsterdam on the night DST ends
			// (2024-10-27 03:00 CEST → 02:00 CET). 21:00Z = Sat 23:00 CEST: 1 kWh × 0.30;
			// 22:00Z = Sun 00:00 CEST: 2 kWh × 0.20. Total 0.70. (In UTC both are Saturday.)
			name: "day_of_week in the location's zone",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.20,"vat":0,"step_size":1}],"restrictions":{"day_of_week":["SUNDAY"]}},
				{"price_components":[{"type":"ENERGY","price":0.30,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-10-26T21:00:00Z", "2024-10-26T23:00:00Z",
				"2024-10-26T21:00:00Z ENERGY=1", "2024-10-26T22:00:00Z ENERGY=2"),
			zone: "Europe/Amsterdam",
			want: want{total: "0.70/0.70"},
		},
		{
			name: "day_of_week in UTC",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.20,"vat":0,"step_size":1}],"restrictions":{"day_of_week":["SUNDAY"]}},
				{"price_components":[{"type":"ENERGY","price":0.30,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-10-26T21:00:00Z", "2024-10-26T23:00:00Z",
				"2024-10-26T21:00:00Z ENERGY=1", "2024-10-26T22:00:00Z ENERGY=2"),
			want: want{total: "0.90/0.90"},
		},
		{
			// 02:00–03:00 local costs 1.00/kWh, else 0.10, across the DST change in
			// Europe/Amsterdam: 00:00Z = 02:00 CEST, 00:30Z = 02:30 CEST, 01:00Z = 02:00 CET
			// (the repeated hour), 01:30Z = 02:30 CET all match; 02:00Z = 03:00 CET does not.
			// 4 × 1.00 + 0.10 = 4.10.
			name: "time window across a DST change",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":1.00,"vat":0,"step_size":1}],"restrictions":{"start_time":"02:00","end_time":"03:00","day_of_week":["SUNDAY"]}},
				{"price_components":[{"type":"ENERGY","price":0.10,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-10-27T00:00:00Z", "2024-10-27T02:30:00Z",
				"2024-10-27T00:00:00Z ENERGY=1", "2024-10-27T00:30:00Z ENERGY=1", "2024-10-27T01:00:00Z ENERGY=1",
				"2024-10-27T01:30:00Z ENERGY=1", "2024-10-27T02:00:00Z ENERGY=1"),
			zone: "Europe/Amsterdam",
			want: want{total: "4.10/4.10", totalTime: "2.5"},
		},
		{
			// start_date inclusive, end_date exclusive (local dates): promo 0.10 on
			// 2024-03-01 only (end 2024-03-02), else 0.30. Periods on 03-01 23:30 local
			// (22:30Z, UTC+1) 1 kWh → 0.10 and 03-02 00:00 local → 0.30. Total 0.40.
			name: "start_date / end_date",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"ENERGY","price":0.10,"vat":0,"step_size":1}],"restrictions":{"start_date":"2024-03-01","end_date":"2024-03-02"}},
				{"price_components":[{"type":"ENERGY","price":0.30,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-03-01T22:30:00Z", "2024-03-01T23:30:00Z",
				"2024-03-01T22:30:00Z ENERGY=1", "2024-03-01T23:00:00Z ENERGY=1"),
			zone: "Europe/Paris",
			want: want{total: "0.40/0.40"},
		},
		{
			// VAT absent on the FLAT: its incl. VAT and the total's are omitted; energy has
			// 19 %: 10 × 0.25 = 2.50, × 1.19 = 2.975 → 2.98.
			name: "VAT absent vs present",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"FLAT","price":1.00,"step_size":1},
				{"type":"ENERGY","price":0.25,"vat":19,"step_size":1}]}]`),
			cdr:  cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T10:00:00Z ENERGY=10"),
			want: want{total: "3.50/-", fixed: "1.00/-", energy: "2.50/2.98"},
		},
		{
			// VAT 0 % is not "no VAT": incl = excl.
			name:   "VAT zero",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"ENERGY","price":0.25,"vat":0,"step_size":1}]}]`),
			cdr:    cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T10:00:00Z ENERGY=10"),
			want:   want{total: "2.50/2.50"},
		},
		{
			// Rounding once, at the end: three periods of 0.01 kWh at 0.25 cost 0.0025 each;
			// rounded per period that would be 0.00; the session's 0.0075 rounds to 0.01.
			// FLAT 0.50 at 21 % is 0.605 incl: half-up gives 0.61 (half-even would give 0.60).
			// Total excl 0.5075 → 0.51; incl 0.605 + 0.0075 = 0.6125 → 0.61.
			name: "half-up rounding at the end",
			tariff: tariffJSON("EUR", "", `[{"price_components":[{"type":"FLAT","price":0.50,"vat":21,"step_size":1},
				{"type":"ENERGY","price":0.25,"vat":0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T10:03:00Z",
				"2024-01-01T10:00:00Z ENERGY=0.01", "2024-01-01T10:01:00Z ENERGY=0.01", "2024-01-01T10:02:00Z ENERGY=0.01"),
			want: want{total: "0.51/0.61", fixed: "0.50/0.61", energy: "0.01/0.01"},
		},
		{
			// Currency with no minor unit: 10.5 kWh × 35 JPY = 367.5 → 368; × 1.10 = 404.25 → 404.
			name:   "JPY rounds to whole yen",
			tariff: tariffJSON("JPY", "", `[{"price_components":[{"type":"ENERGY","price":35,"vat":10,"step_size":1}]}]`),
			cdr:    cdrJSON("JPY", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T10:00:00Z ENERGY=10.5"),
			want:   want{total: "368/404"},
		},
		{
			// OCPI "Tariff example with reservation price": reserved 15 min at 5.00/h (60 s)
			// = 1.25 (1.50); start fee 0.50 (0.60); 20 kWh 5.00 (5.50).
			// Total 6.75 / 7.60 (the spec's figures).
			name: "reservation time",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"TIME","price":5.00,"vat":20.0,"step_size":60}],"restrictions":{"reservation":"RESERVATION"}},
				{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T09:45:00Z", "2024-01-01T11:00:00Z",
				"2024-01-01T09:45:00Z RESERVATION_TIME=0.25", "2024-01-01T10:00:00Z ENERGY=20 TIME=1"),
			want: want{total: "6.75/7.60", reservation: "1.25/1.50", fixed: "0.50/0.60", energy: "5.00/5.50", timeC: "0.00/0.00"},
		},
		{
			// "Tariff example with reservation price and fee": fee 2.00 + 13 min in 300 s
			// steps → 15 min at 5.00/h = 1.25: reservation 3.25 (3.90); + 0.50 + 5.00.
			// Total 8.75 / 10.00 (the spec's figures).
			name: "reservation fee and time",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"FLAT","price":2.00,"vat":20.0,"step_size":1},{"type":"TIME","price":5.00,"vat":20.0,"step_size":300}],"restrictions":{"reservation":"RESERVATION"}},
				{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`),
			cdr: cdrJSON("EUR", "2024-01-01T09:47:00Z", "2024-01-01T11:00:00Z",
				"2024-01-01T09:47:00Z RESERVATION_TIME=0.2167", "2024-01-01T10:00:00Z ENERGY=20 TIME=1"),
			want: want{total: "8.75/10.00", reservation: "3.25/3.90"},
		},
		{
			// "Reservation price and expire fee", used: 22 min → 30 min at 2.00/h = 1.00;
			// no expiry fee. 1.00 + 0.50 + 5.00 = 6.50; 1.20 + 0.60 + 5.50 = 7.30 (spec).
			name:   "reservation used, expire fee not charged",
			tariff: tariffJSON("EUR", "", elReservationExpireFee),
			cdr: cdrJSON("EUR", "2024-01-01T09:38:00Z", "2024-01-01T11:00:00Z",
				"2024-01-01T09:38:00Z RESERVATION_TIME=0.3667", "2024-01-01T10:00:00Z ENERGY=20 TIME=1"),
			want: want{total: "6.50/7.30", reservation: "1.00/1.20"},
		},
		{
			// Same tariff, reservation expired after 1 h without charging: expiry fee 4.00 +
			// 1 h at 2.00 = 6.00 / 7.20 (spec); no start fee, as no session took place.
			name:   "reservation expired",
			tariff: tariffJSON("EUR", "", elReservationExpireFee),
			cdr:    cdrJSON("EUR", "2024-01-01T09:00:00Z", "2024-01-01T10:00:00Z", "2024-01-01T09:00:00Z RESERVATION_TIME=1"),
			want:   want{total: "6.00/7.20", reservation: "6.00/7.20", fixed: "0.00/0.00"},
		},
		{
			// "Reservation time and expire time": expired after 1.5 h, the
			// RESERVATION_EXPIRES TIME price (6.00/h) is used instead of 3.00/h:
			// 9.00 / 10.80 (spec).
			name: "reservation expired, RESERVATION_EXPIRES time price",
			tariff: tariffJSON("EUR", "", `[
				{"price_components":[{"type":"TIME","price":6.00,"vat":20.0,"step_size":600}],"restrictions":{"reservation":"RESERVATION_EXPIRES"}},
				{"price_components":[{"type":"TIME","price":3.00,"vat":20.0,"step_size":600}],"restrictions":{"reservation":"RESERVATION"}},
				{"price_components":[{"type":"FLAT","price":0.50,"vat":20.0,"step_size":1},{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`),
			cdr:  cdrJSON("EUR", "2024-01-01T09:00:00Z", "2024-01-01T10:30:00Z", "2024-01-01T09:00:00Z RESERVATION_TIME=1.5"),
			want: want{total: "9.00/10.80"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustTariff(t, tc.tariff)
			c := mustCDR(t, tc.cdr)
			var loc = mustLoc(t, "UTC")
			if tc.zone != "" {
				loc = mustLoc(t, tc.zone)
			}
			p, err := Price(c, tr, loc)
			if err != nil {
				t.Fatalf("Price: %v", err)
			}
			checkPriced(t, p, tc.want)
		})
	}
}

func TestPriceErrors(t *testing.T) {
	energy := `[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}]`
	tests := []struct {
		name, tariff, cdr, field string
	}{
		{"currency mismatch", tariffJSON("EUR", "", energy),
			cdrJSON("USD", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T10:00:00Z ENERGY=1"), "currency"},
		{"session before the tariff is valid", tariffJSON("EUR", `"start_date_time":"2024-02-01T00:00:00Z"`, energy),
			cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T10:00:00Z ENERGY=1"), "start_date_time"},
		{"session after the tariff ended", tariffJSON("EUR", `"end_date_time":"2023-12-01T00:00:00Z"`, energy),
			cdrJSON("EUR", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z", "2024-01-01T10:00:00Z ENERGY=1"), "start_date_time"},
		{"period of another tariff", tariffJSON("EUR", "", energy),
			`{"currency":"EUR","start_date_time":"2024-01-01T10:00:00Z","end_date_time":"2024-01-01T11:00:00Z",
			  "charging_periods":[{"start_date_time":"2024-01-01T10:00:00Z","tariff_id":"other","dimensions":[{"type":"ENERGY","volume":1}]}]}`,
			"charging_periods[0].tariff_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Price(mustCDR(t, tc.cdr), mustTariff(t, tc.tariff), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("error %v: kind %v field %q, want invalid %q", err, errs.KindOf(err), errs.FieldOf(err), tc.field)
			}
		})
	}
}

func TestPriceJSONPassThrough(t *testing.T) {
	cdr := `{"id":"abc","cdr_token":{"uid":"X1","type":"RFID"},"currency":"EUR",
		"start_date_time":"2024-01-01T10:00:00Z","end_date_time":"2024-01-01T11:00:00Z",
		"total_cost":{"excl_vat":99},
		"charging_periods":[{"start_date_time":"2024-01-01T10:00:00Z","dimensions":[{"type":"ENERGY","volume":20}]}],
		"remark":"kept"}`
	out, err := PriceJSON([]byte(cdr), []byte(tariffJSON("EUR", "", elFlatEnergy)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`"cdr_token": {`, `"uid": "X1"`, `"remark": "kept"`, `"excl_vat": 5.50`, `"incl_vat": 6.10`, `"total_energy": 20`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "99") {
		t.Errorf("input total_cost not replaced:\n%s", s)
	}
	// fields keep their input order; the replaced total_cost stays where it was
	if strings.Index(s, `"cdr_token"`) > strings.Index(s, `"total_cost"`) || strings.Index(s, `"total_cost"`) > strings.Index(s, `"remark"`) {
		t.Errorf("field order changed:\n%s", s)
	}
}
