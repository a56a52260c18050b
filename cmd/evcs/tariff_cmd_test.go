package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func runTariff(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newTariffCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// The tariff (testdata/tariff/tariff_tou.json): FLAT 0.50; ENERGY 0.40/kWh 17:00–21:00;
// otherwise ENERGY 0.30/kWh and PARKING_TIME 2.00/h in 5-minute steps; VAT 21 % everywhere.
// The CDR (cdr_evening.json) is in Europe/Amsterdam (UTC+1 on 2025-03-10):
//
//	16:30–17:00 local  10 kWh   → 0.30 × 10  = 3.00
//	17:00–17:30 local  5.5 kWh  → 0.40 × 5.5 = 2.20
//	17:30–18:10 local  parking 0.6667 h = 2400 s (whole seconds) = 8 steps of 300 s
//	                            → 2.00 × 40/60 = 1.3333…
//	flat                        → 0.50
//	total excl = 7.0333… → 7.03; incl = 7.0333… × 1.21 = 8.5103… → 8.51
//	fixed incl = 0.605 → 0.61 (half-up); energy 5.20/6.292 → 6.29; parking 1.33/1.6133… → 1.61
//
// With --time-zone UTC both energy periods are before 17:00: 15.5 × 0.30 = 4.65, total
// excl = 0.50 + 4.65 + 1.3333… = 6.4833… → 6.48.
func TestTariffPrice(t *testing.T) {
	tests := []struct {
		name                    string
		args                    []string
		total, energy, fixed    string
		totalIncl, parkingTotal string
	}{
		{"zone from CDR", []string{"price", "--tariff", "testdata/tariff/tariff_tou.json", "--cdr", "testdata/tariff/cdr_evening.json"},
			"7.03", "5.20", "0.50", "8.51", "1.33"},
		{"zone flag wins", []string{"price", "--tariff", "testdata/tariff/tariff_tou.json", "--cdr", "testdata/tariff/cdr_evening.json", "--time-zone", "UTC"},
			"6.48", "4.65", "0.50", "7.84", "1.33"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runTariff(t, tc.args...)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			var cost struct {
				Excl json.Number `json:"excl_vat"`
				Incl json.Number `json:"incl_vat"`
			}
			check := func(field, want string, incl bool) {
				t.Helper()
				if err := json.Unmarshal(got[field], &cost); err != nil {
					t.Fatalf("%s: %v", field, err)
				}
				v := cost.Excl
				if incl {
					v = cost.Incl
				}
				if string(v) != want {
					t.Errorf("%s = %s, want %s", field, v, want)
				}
			}
			check("total_cost", tc.total, false)
			check("total_cost", tc.totalIncl, true)
			check("total_energy_cost", tc.energy, false)
			check("total_fixed_cost", tc.fixed, false)
			check("total_parking_cost", tc.parkingTotal, false)
			// pass-through fields of the CDR are kept
			if string(got["session_id"]) != `"s-42"` || got["location"] == nil {
				t.Errorf("pass-through fields lost: %s", out)
			}
			if string(got["total_energy"]) != "15.5" {
				t.Errorf("total_energy = %s", got["total_energy"])
			}
		})
	}
}

func TestTariffPriceErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad step_size", []string{"price", "--tariff", "testdata/tariff/tariff_bad_step.json", "--cdr", "testdata/tariff/cdr_evening.json"},
			"elements[0].price_components[0].step_size: must be > 0"},
		{"unknown field", []string{"price", "--tariff", "testdata/tariff/tariff_unknown_field.json", "--cdr", "testdata/tariff/cdr_evening.json"},
			"elements[0].restrictions.start_tim: unknown field"},
		{"missing file", []string{"price", "--tariff", "testdata/tariff/nope.json", "--cdr", "testdata/tariff/cdr_evening.json"},
			"read testdata/tariff/nope.json"},
		{"bad zone", []string{"price", "--tariff", "testdata/tariff/tariff_tou.json", "--cdr", "testdata/tariff/cdr_evening.json", "--time-zone", "Mars/Base"},
			`unknown time zone "Mars/Base"`},
		{"missing flag", []string{"price", "--cdr", "testdata/tariff/cdr_evening.json"}, "tariff"},
		{"cdr as tariff", []string{"price", "--tariff", "testdata/tariff/cdr_evening.json", "--cdr", "testdata/tariff/cdr_evening.json"},
			"elements: is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runTariff(t, tc.args...)
			if err == nil {
				t.Fatalf("no error; output %s", out)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if out != "" {
				t.Errorf("stdout not empty on error: %q", out)
			}
		})
	}
}
