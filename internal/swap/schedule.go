package swap

import (
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/govalues/decimal"
)

// Forecast estimates, per step of a horizon, how many swaps of one battery type will happen:
// the mean number of swaps in the same time-of-day window over the last days (history are the
// times of past swaps; steps of length step start at from). A day with no swaps counts as zero.
func Forecast(history []time.Time, from time.Time, step time.Duration, steps, days int, loc *time.Location) []float64 {
	out := make([]float64, steps)
	if days <= 0 || step <= 0 {
		return out
	}
	if loc == nil {
		loc = time.UTC
	}
	for i := range out {
		start := from.Add(time.Duration(i) * step)
		n := 0
		for d := 1; d <= days; d++ {
			lo := start.In(loc).AddDate(0, 0, -d)
			hi := lo.Add(step)
			for _, h := range history {
				if !h.Before(lo) && h.Before(hi) {
					n++
				}
			}
		}
		out[i] = float64(n) / float64(days)
	}
	return out
}

// SlotBattery is a battery in a slot, as the scheduler sees it.
type SlotBattery struct {
	ID          string
	BatteryType string
	CapacityWh  int64
	SoCPct      float64
	MaxChargeW  int64 // the slot charger's limit
	Available   bool  // false: faulty, maintenance, reserved: not charged
}

// PlanInput is what the charging scheduler decides from.
type PlanInput struct {
	Start      time.Time
	Step       time.Duration
	Steps      int
	Prices     []decimal.Decimal // energy price per kWh in each step (time of use)
	LimitW     []int64           // power the site can give the slots in each step (site limit less other load)
	Batteries  []SlotBattery
	Demand     map[string][]float64 // forecast swaps per battery type per step (see Forecast)
	ReadySoC   float64              // a battery is ready from this SoC on
	MinReady   int                  // batteries to keep ready per type besides the forecast demand
	TargetSoC  float64              // charge up to this SoC (default 100; never below ReadySoC)
	Efficiency float64              // grid-to-battery efficiency in (0, 1] (default 1)
}

// Charge is one slot charging during one step at a constant power.
type Charge struct {
	BatteryID string `json:"battery_id"`
	Step      int    `json:"step"`
	PowerW    int64  `json:"power_w"`
}

// Plan is the scheduler's answer: what charges when, and which batteries will be short.
type Plan struct {
	Charges []Charge
	// Deadline of each battery that must become ready (the step by which it must be), by id.
	Deadlines map[string]int
	// Short counts, per type, the batteries that cannot be ready when the forecast needs them.
	Short map[string]int
	// LoadW is the planned slot power in each step; never above LimitW.
	LoadW []int64
}

// Schedule plans the charging of the batteries in a station's slots.
//
// Rules:
//   - Target: for each battery type, at every step h at least MinReady + ⌈Σ demand[0..h]⌉
//     batteries must be ready. The batteries already ready count first; then the batteries
//     closest to ready (least energy missing) are given deadlines in turn: the k-th more
//     battery must be ready by the first step at which the target exceeds ready + k − 1.
//   - Batteries with a deadline are planned earliest deadline first, each in the cheapest
//     steps before its deadline (ties: the earlier step), as much power as the slot and the
//     site leave. A battery that cannot be made ready in time is counted in Short and
//     charged as early as possible instead.
//   - The other batteries are charged only to reach the target SoC, in the cheapest steps of
//     the whole horizon that still have room: cheaper time-of-use prices, never at the cost of
//     the ready target.
//   - In every step the planned power is at most the site's limit for the slots (LimitW), and
//     each slot at most its MaxChargeW; no battery is charged beyond TargetSoC.
func Schedule(in PlanInput) Plan {
	if in.TargetSoC <= 0 || in.TargetSoC > 100 {
		in.TargetSoC = 100
	}
	in.TargetSoC = max(in.TargetSoC, in.ReadySoC) // a battery made ready is charged at least that far
	if in.Efficiency <= 0 || in.Efficiency > 1 {
		in.Efficiency = 1
	}
	p := Plan{Deadlines: map[string]int{}, Short: map[string]int{}, LoadW: make([]int64, in.Steps)}
	room := make([]int64, in.Steps)
	for i := range room {
		if i < len(in.LimitW) {
			room[i] = max(in.LimitW[i], 0)
		}
	}
	stepH := in.Step.Hours()
	type job struct {
		b        SlotBattery
		needWh   float64 // grid energy to ready
		fullWh   float64 // grid energy to the target SoC
		deadline int     // -1: none
	}
	var jobs []*job
	ready := map[string]int{}
	for _, b := range in.Batteries {
		if !b.Available {
			continue
		}
		if b.SoCPct >= in.ReadySoC {
			ready[b.BatteryType]++
		}
		need := math.Max(0, (in.ReadySoC-b.SoCPct)/100*float64(b.CapacityWh)/in.Efficiency)
		full := math.Max(0, (in.TargetSoC-b.SoCPct)/100*float64(b.CapacityWh)/in.Efficiency)
		if full > 0 && b.MaxChargeW > 0 {
			jobs = append(jobs, &job{b: b, needWh: need, fullWh: full, deadline: -1})
		}
	}
	// Deadlines per type.
	types := map[string][]*job{}
	for _, j := range jobs {
		if j.needWh > 0 {
			types[j.b.BatteryType] = append(types[j.b.BatteryType], j)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(types)) {
		js := types[t]
		sort.SliceStable(js, func(a, b int) bool {
			if js[a].needWh != js[b].needWh {
				return js[a].needWh < js[b].needWh
			}
			return js[a].b.ID < js[b].b.ID
		})
		cum := 0.0
		next := 0 // index of the next battery to give a deadline
		for h := 0; h < in.Steps && next < len(js); h++ {
			if d := in.Demand[t]; h < len(d) {
				cum += d[h]
			}
			target := in.MinReady + int(math.Ceil(cum-1e-9))
			for ready[t]+next < target && next < len(js) {
				js[next].deadline = h
				p.Deadlines[js[next].b.ID] = h
				next++
			}
		}
	}
	charged := map[string]float64{}
	alloc := func(j *job, steps []int, upto float64) float64 {
		for _, s := range steps {
			left := upto - charged[j.b.ID]
			if left <= 1e-9 {
				break
			}
			w := min(room[s], j.b.MaxChargeW-slotLoad(p.Charges, j.b.ID, s), int64(math.Ceil(left/stepH)))
			if w <= 0 {
				continue
			}
			room[s] -= w
			p.LoadW[s] += w
			p.Charges = append(p.Charges, Charge{BatteryID: j.b.ID, Step: s, PowerW: w})
			charged[j.b.ID] += float64(w) * stepH
		}
		return upto - charged[j.b.ID]
	}
	byPrice := func(n int) []int {
		steps := make([]int, n)
		for i := range steps {
			steps[i] = i
		}
		sort.SliceStable(steps, func(a, b int) bool { return price(in.Prices, steps[a]).Cmp(price(in.Prices, steps[b])) < 0 })
		return steps
	}
	var due []*job
	for _, j := range jobs {
		if j.deadline >= 0 {
			due = append(due, j)
		}
	}
	sort.SliceStable(due, func(a, b int) bool { return due[a].deadline < due[b].deadline })
	for _, j := range due {
		// Ready by the end of the deadline step: the steps 0..deadline-1 are before it; a
		// battery needed at step 0 can only be charged as early as possible.
		if left := alloc(j, byPrice(j.deadline), j.needWh); left > 1e-6 {
			early := make([]int, in.Steps)
			for i := range early {
				early[i] = i
			}
			alloc(j, early, j.needWh)
			p.Short[j.b.BatteryType]++
		}
	}
	all := byPrice(in.Steps)
	for _, j := range jobs {
		alloc(j, all, j.fullWh)
	}
	sort.SliceStable(p.Charges, func(a, b int) bool {
		if p.Charges[a].Step != p.Charges[b].Step {
			return p.Charges[a].Step < p.Charges[b].Step
		}
		return p.Charges[a].BatteryID < p.Charges[b].BatteryID
	})
	return p
}

func slotLoad(cs []Charge, id string, step int) int64 {
	var w int64
	for _, c := range cs {
		if c.BatteryID == id && c.Step == step {
			w += c.PowerW
		}
	}
	return w
}

func price(ps []decimal.Decimal, i int) decimal.Decimal {
	if i < len(ps) {
		return ps[i]
	}
	return decimal.Zero
}
