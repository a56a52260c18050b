package swap

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
)

func bat(serial, typ, state string, soc, soh, cycles int) asset.Battery {
	return asset.Battery{ID: "bat_" + serial, BatteryFields: asset.BatteryFields{Serial: serial, BatteryType: typ, CapacityWh: 60000,
		SoCPct: soc, SoHPct: soh, Cycles: cycles, State: state}, Status: asset.Active}
}

func TestPick(t *testing.T) {
	fleet := []asset.Battery{
		bat("A", "T1", asset.BatteryReady, 95, 90, 300),
		bat("B", "T1", asset.BatteryReady, 100, 85, 100),
		bat("C", "T1", asset.BatteryFaulty, 100, 100, 0),
		bat("D", "T1", asset.BatteryCharging, 60, 99, 10),
		bat("E", "T2", asset.BatteryReady, 100, 100, 5),
		bat("F", "T1", asset.BatteryReady, 100, 65, 900),
		bat("G", "T1", asset.BatteryReserved, 100, 100, 1),
		bat("H", "T1", asset.BatteryCharging, 92, 88, 50), // charging but past the ready threshold
	}
	cases := []struct {
		name, order, typ string
		bs               []asset.Battery
		want             string
		errHas           string
	}{
		{"highest SoH first, never faulty nor reserved", BySoH, "T1", fleet, "A", ""},
		{"by SoC", BySoC, "T1", fleet, "B", ""},
		{"by cycles, never below the SoH threshold", ByCycles, "T1", fleet, "H", ""},
		{"other type", BySoH, "T2", fleet, "E", ""},
		{"unknown type", BySoH, "T9", fleet, "", "holds no battery of type T9"},
		{"none ready: reasons", BySoH, "T1", []asset.Battery{fleet[2], fleet[3], fleet[5]}, "", "1 charging (below 90 %), 1 faulty, 1 state of health below 70 %"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultPolicy
			p.Order = c.order
			got, err := p.Pick(c.typ, c.bs)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) || !errs.Is(err, errs.Conflict) {
					t.Fatalf("err = %v, want %q", err, c.errHas)
				}
				return
			}
			if err != nil || got.Serial != c.want {
				t.Fatalf("picked %q (%v), want %q", got.Serial, err, c.want)
			}
		})
	}
}

func TestEnergyWh(t *testing.T) {
	cases := []struct {
		cap     int64
		out, in float64
		want    int64
		bad     bool
	}{
		{60000, 95, 20.5, 44700, false},
		{60000, 100, 0, 60000, false},
		{75000, 90.33, 10.01, 60240, false}, // 75000 × 80.32 / 100 = 60240
		{1001, 50, 49.95, 1, false},         // 1001 × 0.05 / 100 = 0.5005 → 1 (half-up)
		{999, 50, 49.95, 0, false},          // 0.4995 → 0
		{60000, 20, 95, 0, false},           // fuller battery handed in: no energy billed
		{60000, 101, 0, 0, true},
		{0, 90, 10, 0, true},
	}
	for _, c := range cases {
		got, err := EnergyWh(c.cap, c.out, c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("EnergyWh(%d, %g, %g) = %d, %v; want %d (error %v)", c.cap, c.out, c.in, got, err, c.want, c.bad)
		}
	}
}

const swapTariff = `{"country_code":"NL","party_id":"EVC","id":"SWAP","currency":"EUR","last_updated":"2026-01-01T00:00:00Z",
 "elements":[
  {"price_components":[{"type":"ENERGY","price":0.20,"vat":21.0,"step_size":1}],"restrictions":{"start_time":"23:00","end_time":"07:00"}},
  {"price_components":[{"type":"ENERGY","price":0.30,"vat":21.0,"step_size":1},{"type":"FLAT","price":2.00,"vat":21.0,"step_size":1},{"type":"TIME","price":9.00,"vat":21.0,"step_size":1}]}]}`

func TestPrice(t *testing.T) {
	tar, err := billing.DecodeTariff([]byte(swapTariff))
	if err != nil {
		t.Fatal(err)
	}
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	day := time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)   // 12:00 local
	night := time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC) // 00:00 local
	cases := []struct {
		name                       string
		wh                         int64
		at                         time.Time
		energyIncl, feeIncl, total int64
		excl                       int64
	}{
		// 44.7 kWh × 0.30 = 13.41 (16.2261 → 16.23 incl.); fee 2.00 (2.42); total 15.41 excl,
		// 18.6461 → 18.65 incl. TIME costs nothing: a swap has no duration.
		{"day", 44700, day, 1623, 242, 1865, 1541},
		// night energy 0.20: 8.94 excl, 10.8174 → 10.82 incl; the fee comes from the first
		// element with a FLAT component whose restrictions hold: 2.00 → 12.8174 + ... = 13.24
		{"night", 44700, night, 1082, 242, 1324, 1094},
		// nothing delivered: the fee alone
		{"fee only", 0, day, 0, 242, 242, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Price(c.wh, tar, c.at, ams)
			if err != nil {
				t.Fatal(err)
			}
			if b.EnergyIncl != c.energyIncl || b.FeeIncl != c.feeIncl || b.ChargedMinor != c.total || b.TotalExcl != c.excl || !b.InclKnown {
				t.Fatalf("bill = %+v", b)
			}
		})
	}
}

func TestForecast(t *testing.T) {
	from := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	var hist []time.Time
	for d := 1; d <= 7; d++ { // every day two swaps between 08:00 and 09:00, one at 09:30 on odd days
		base := from.AddDate(0, 0, -d)
		hist = append(hist, base.Add(10*time.Minute), base.Add(40*time.Minute))
		if d%2 == 1 {
			hist = append(hist, base.Add(90*time.Minute))
		}
	}
	got := Forecast(hist, from, time.Hour, 3, 7, time.UTC)
	if got[0] != 2 || got[1] != 4.0/7 || got[2] != 0 {
		t.Fatalf("forecast = %v", got)
	}
}

func prices(ps ...string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(ps))
	for i, p := range ps {
		out[i] = decimal.MustParse(p)
	}
	return out
}

func TestSchedule(t *testing.T) {
	start := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	// Four one-hour steps: expensive, cheap, expensive, cheapest.
	base := PlanInput{Start: start, Step: time.Hour, Steps: 4, Prices: prices("0.40", "0.20", "0.40", "0.10"),
		LimitW: []int64{20000, 20000, 20000, 20000}, ReadySoC: 90, MinReady: 1}
	b := func(id string, soc float64) SlotBattery {
		return SlotBattery{ID: id, BatteryType: "T1", CapacityWh: 20000, SoCPct: soc, MaxChargeW: 10000, Available: true}
	}
	t.Run("cheapest steps when the target allows", func(t *testing.T) {
		in := base
		in.Batteries = []SlotBattery{b("R", 95), b("X", 40)} // one ready: the target (1) is met
		p := Schedule(in)
		// X needs 60 % of 20 kWh = 12 kWh: 10 kWh in the cheapest step 3, 2 kWh in step 1;
		// R its last 1 kWh in step 3.
		if len(p.Deadlines) != 0 || len(p.Short) != 0 {
			t.Fatalf("deadlines %v short %v", p.Deadlines, p.Short)
		}
		want := []Charge{{"X", 1, 2000}, {"R", 3, 1000}, {"X", 3, 10000}}
		if !equalCharges(p.Charges, want) {
			t.Fatalf("charges = %v, want %v", p.Charges, want)
		}
	})
	t.Run("forecast demand forces an earlier, dearer step", func(t *testing.T) {
		in := base
		in.Batteries = []SlotBattery{b("R", 95), b("X", 40)}
		in.Demand = map[string][]float64{"T1": {0, 0, 1, 0}} // a swap expected in step 2: X must be ready by then
		p := Schedule(in)
		if p.Deadlines["X"] != 2 || len(p.Short) != 0 {
			t.Fatalf("deadlines %v short %v", p.Deadlines, p.Short)
		}
		// Ready (90 %: 10 kWh) before step 2: 10 kWh in the cheap step 1 (0.20), none in step 0.
		// Then the last 2 kWh to 100 % in the cheapest step 3.
		want := []Charge{{"X", 1, 10000}, {"R", 3, 1000}, {"X", 3, 2000}}
		if !equalCharges(p.Charges, want) {
			t.Fatalf("charges = %v, want %v", p.Charges, want)
		}
	})
	t.Run("site limit makes a battery short", func(t *testing.T) {
		in := base
		in.LimitW = []int64{3000, 3000, 3000, 3000}
		in.Batteries = []SlotBattery{b("X", 40)} // none ready: needed at step 0 already
		in.Demand = map[string][]float64{"T1": {0, 1, 0, 0}}
		p := Schedule(in)
		if p.Short["T1"] == 0 {
			t.Fatalf("short = %v", p.Short)
		}
		for s, w := range p.LoadW {
			if w > 3000 {
				t.Fatalf("step %d load %d", s, w)
			}
		}
	})
}

func equalCharges(a, b []Charge) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestScheduleNeverExceedsLimits: for random fleets, prices, demand and limits, the planned
// power never exceeds the site's limit in any step nor a slot's limit, and no battery is planned
// beyond its target SoC.
func TestScheduleNeverExceedsLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	for n := 0; n < 500; n++ {
		steps := 1 + rng.IntN(24)
		in := PlanInput{Start: time.Unix(0, 0), Step: time.Duration(5+rng.IntN(60)) * time.Minute, Steps: steps,
			ReadySoC: float64(50 + rng.IntN(50)), MinReady: rng.IntN(3), TargetSoC: float64(80 + rng.IntN(21)), Efficiency: 0.8 + rng.Float64()*0.2,
			Demand: map[string][]float64{}}
		for s := 0; s < steps; s++ {
			in.Prices = append(in.Prices, decimal.MustNew(int64(rng.IntN(50)), 2))
			in.LimitW = append(in.LimitW, int64(rng.IntN(50000)))
		}
		for _, typ := range []string{"A", "B"} {
			d := make([]float64, steps)
			for s := range d {
				d[s] = rng.Float64() * 2
			}
			in.Demand[typ] = d
		}
		for i := 0; i < rng.IntN(12); i++ {
			in.Batteries = append(in.Batteries, SlotBattery{ID: string(rune('a' + i)), BatteryType: []string{"A", "B"}[rng.IntN(2)],
				CapacityWh: int64(10000 + rng.IntN(90000)), SoCPct: float64(rng.IntN(101)), MaxChargeW: int64(rng.IntN(22000)), Available: rng.IntN(5) > 0})
		}
		p := Schedule(in)
		load := make([]int64, steps)
		perSlot := map[[2]any]int64{}
		energy := map[string]float64{}
		for _, c := range p.Charges {
			if c.PowerW <= 0 || c.Step < 0 || c.Step >= steps {
				t.Fatalf("case %d: bad charge %+v", n, c)
			}
			load[c.Step] += c.PowerW
			perSlot[[2]any{c.BatteryID, c.Step}] += c.PowerW
			energy[c.BatteryID] += float64(c.PowerW) * in.Step.Hours()
		}
		for s := range load {
			if load[s] > in.LimitW[s] || load[s] != p.LoadW[s] {
				t.Fatalf("case %d: step %d load %d, limit %d (plan says %d)", n, s, load[s], in.LimitW[s], p.LoadW[s])
			}
		}
		for _, b := range in.Batteries {
			for s := 0; s < steps; s++ {
				if w := perSlot[[2]any{b.ID, s}]; w > b.MaxChargeW || (!b.Available && w > 0) {
					t.Fatalf("case %d: battery %s step %d at %d W (max %d, available %v)", n, b.ID, s, w, b.MaxChargeW, b.Available)
				}
			}
			// Power is planned in whole W per step: at most one step's rounding above the need.
			need := (max(in.TargetSoC, in.ReadySoC) - b.SoCPct) / 100 * float64(b.CapacityWh) / in.Efficiency
			if energy[b.ID] > max(need, 0)+in.Step.Hours()+1e-6 {
				t.Fatalf("case %d: battery %s planned %.1f Wh, needs %.1f: %+v %+v", n, b.ID, energy[b.ID], need, in, p)
			}
		}
	}
}
