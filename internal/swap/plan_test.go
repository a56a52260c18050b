package swap

import (
	"testing"
	"time"

	"github.com/evcs/evcs/internal/billing"
)

// TestEnergyPrices: the time-of-use energy price of each step, in the site's time zone.
func TestEnergyPrices(t *testing.T) {
	tar, err := billing.DecodeTariff([]byte(`{"country_code":"NL","party_id":"EVC","id":"TOU","currency":"EUR","last_updated":"2026-01-01T00:00:00Z","elements":[
 {"price_components":[{"type":"ENERGY","price":0.45,"vat":21,"step_size":1}],"restrictions":{"start_time":"17:00","end_time":"21:00"}},
 {"price_components":[{"type":"ENERGY","price":0.3512,"vat":21,"step_size":1},{"type":"FLAT","price":1.00,"vat":21,"step_size":1}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	start := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC) // 16:00 in Amsterdam
	got := EnergyPrices(tar, start, time.Hour, 6, ams)
	want := []string{"0.3512", "0.45", "0.45", "0.45", "0.45", "0.3512"}
	for i := range want {
		if got[i].Trim(0).String() != want[i] {
			t.Errorf("step %d (%s local): %s, want %s", i, start.Add(time.Duration(i)*time.Hour).In(ams).Format("15:04"), got[i], want[i])
		}
	}
}

// TestPlanPowerAt: the step containing a moment gives each battery's power; outside the
// horizon nothing charges.
func TestPlanPowerAt(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := StationPlan{Start: start, StepS: 900, Steps: 2, Charges: []Charge{{"a", 0, 1000}, {"b", 0, 2000}, {"a", 1, 3000}}}
	for _, c := range []struct {
		at   time.Time
		want map[string]int64
	}{
		{start.Add(-time.Second), map[string]int64{}},
		{start, map[string]int64{"a": 1000, "b": 2000}},
		{start.Add(899 * time.Second), map[string]int64{"a": 1000, "b": 2000}},
		{start.Add(900 * time.Second), map[string]int64{"a": 3000}},
		{start.Add(1800 * time.Second), map[string]int64{}},
	} {
		got := p.PowerAt(c.at)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v, want %v", c.at, got, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Fatalf("%s: %v, want %v", c.at, got, c.want)
			}
		}
	}
}
