package swap

import (
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/billing"
)

// StationPlan is the charging plan of one swap station's slots as EVCS keeps it: what Schedule
// decided at ComputedAt, with the slots it applies to. The step containing a moment gives each
// battery's power then (PowerAt); the power of step 0 is what the slots were told.
type StationPlan struct {
	StationID  string    `json:"station_id"`
	SiteID     string    `json:"site_id"`
	ComputedAt time.Time `json:"computed_at"`
	Start      time.Time `json:"start"`
	StepS      int       `json:"step_s" doc:"length of a step, seconds"`
	Steps      int       `json:"steps"`
	// HeadroomW is the power the site could give the slots (its limit less the load that must
	// keep its share); SpareW what it has left over now, which charging for price alone is
	// kept within.
	HeadroomW int64                `json:"headroom_w"`
	SpareW    int64                `json:"spare_w"`
	ReadySoC  float64              `json:"ready_soc_pct"`
	Slots     []PlannedSlot        `json:"slots"`
	Charges   []Charge             `json:"charges"`
	LoadW     []int64              `json:"load_w" doc:"planned slot power per step"`
	Short     map[string]int       `json:"short,omitempty" doc:"per battery type, batteries that cannot be ready when the forecast needs them"`
	Demand    map[string][]float64 `json:"demand,omitempty" doc:"forecast swaps per battery type per step"`
}

// PlannedSlot is one battery in a slot and what the plan gives it now.
type PlannedSlot struct {
	BatteryID   string  `json:"battery_id"`
	Serial      string  `json:"serial"`
	BatteryType string  `json:"battery_type"`
	EVSENo      int     `json:"evse_no" doc:"the slot: an EVSE of the station"`
	SoCPct      float64 `json:"soc_pct"`
	MaxChargeW  int64   `json:"max_charge_w"`
	// Deadline is the step by which the battery must be ready (it is needed for the ready
	// target); nil when it charges only because power is cheap.
	Deadline *int   `json:"deadline_step,omitempty"`
	PowerW   int64  `json:"power_w" doc:"planned power in step 0"`
	PushedW  *int64 `json:"pushed_w,omitempty" doc:"the limit the station last accepted for the slot"`
}

// Step is the step of the plan containing at: -1 before the plan or past its horizon.
func (p *StationPlan) Step(at time.Time) int {
	if p.StepS <= 0 || at.Before(p.Start) {
		return -1
	}
	i := int(at.Sub(p.Start) / (time.Duration(p.StepS) * time.Second))
	if i >= p.Steps {
		return -1
	}
	return i
}

// PowerAt is each battery's planned power in the step containing at (batteries that do not
// charge then are absent).
func (p *StationPlan) PowerAt(at time.Time) map[string]int64 {
	out := map[string]int64{}
	s := p.Step(at)
	if s < 0 {
		return out
	}
	for _, c := range p.Charges {
		if c.Step == s && c.PowerW > 0 {
			out[c.BatteryID] += c.PowerW
		}
	}
	return out
}

// EnergyPrices is the ENERGY price per kWh (excl. VAT) of tariff t at the start of each step,
// with its time-of-use restrictions evaluated in loc: the prices the scheduler charges against.
// A step the tariff does not price (or cannot) costs zero.
func EnergyPrices(t billing.Tariff, start time.Time, step time.Duration, steps int, loc *time.Location) []decimal.Decimal {
	out := make([]decimal.Decimal, steps)
	thousand, _ := decimal.New(1000, 0)
	vol, _ := decimal.New(1000, 0) // 1 MWh, so that a price with 4 fraction digits stays exact
	for i := range out {
		at := start.Add(time.Duration(i) * step)
		cdr := billing.CDR{StartDateTime: billing.DateTime{Time: at}, EndDateTime: billing.DateTime{Time: at.Add(time.Second)}, Currency: t.Currency,
			ChargingPeriods: []billing.ChargingPeriod{{StartDateTime: billing.DateTime{Time: at}, TariffID: t.ID,
				Dimensions: []billing.CdrDimension{{Type: billing.CdrEnergy, Volume: billing.NewNumber(vol)}}}}}
		p, err := billing.Price(cdr, t, loc)
		if err != nil {
			continue
		}
		if d, err := p.TotalEnergyCost.ExclVat.Decimal().Quo(thousand); err == nil {
			out[i] = d
		}
	}
	return out
}
