package swap

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
)

// Dispatch orders: which ready battery goes first.
const (
	BySoH    = "soh"    // highest state of health first (default): the best battery for the driver
	BySoC    = "soc"    // highest state of charge first
	ByCycles = "cycles" // fewest cycles first: spreads the wear over the fleet
)

// Policy is how a station dispatches and keeps its batteries.
type Policy struct {
	ReadySoCPct float64 `json:"ready_soc_pct" doc:"a battery is dispatchable from this state of charge on"`
	Order       string  `json:"order" enum:"soh,soc,cycles"`
	MinSoHPct   float64 `json:"min_soh_pct" doc:"below this state of health a battery leaves rotation"`
	MinReady    int     `json:"min_ready" doc:"batteries to keep ready per type, besides the forecast demand"`
}

// DefaultPolicy is the policy of a station that has none of its own.
var DefaultPolicy = Policy{ReadySoCPct: 90, Order: BySoH, MinSoHPct: 70, MinReady: 1}

// Check validates a policy.
func (p Policy) Check() error {
	switch {
	case p.ReadySoCPct <= 0 || p.ReadySoCPct > 100:
		return errs.Field("ready_soc_pct", "must be above 0 and at most 100")
	case p.MinSoHPct < 0 || p.MinSoHPct > 100:
		return errs.Field("min_soh_pct", "must be 0 to 100")
	case p.MinReady < 0:
		return errs.Field("min_ready", "must not be negative")
	}
	switch p.Order {
	case BySoH, BySoC, ByCycles:
	default:
		return errs.Field("order", "must be soh, soc or cycles")
	}
	return nil
}

// Dispatchable reports whether b may be given to a vehicle that takes batteryType, and why not.
// A battery is dispatchable when it is of that type, ready (or charging but already at the
// ready threshold), at or above the ready state of charge, and its state of health is not below
// the rotation threshold. Faulty, maintenance, reserved and in-vehicle batteries never are.
func (p Policy) Dispatchable(b asset.Battery, batteryType string) (bool, string) {
	switch {
	case b.BatteryType != batteryType:
		return false, "other type"
	case b.Status == asset.Inactive:
		return false, "inactive"
	case b.State == asset.BatteryFaulty:
		return false, "faulty"
	case b.State == asset.BatteryMaintenance:
		return false, "in maintenance"
	case b.State == asset.BatteryReserved:
		return false, "reserved"
	case b.State == asset.BatteryInVehicle:
		return false, "in a vehicle"
	case float64(b.SoHPct) < p.MinSoHPct:
		return false, fmt.Sprintf("state of health below %g %%", p.MinSoHPct)
	case float64(b.SoCPct) < p.ReadySoCPct:
		return false, fmt.Sprintf("charging (below %g %%)", p.ReadySoCPct)
	}
	return true, ""
}

// Pick returns the battery to dispatch for a vehicle taking batteryType from the batteries of a
// station: the dispatchable ones in the policy's order, ties broken by state of health, state
// of charge, fewest cycles and serial, so the choice is deterministic. When none is
// dispatchable the error (errs Conflict) says what the station has of that type and why each
// kind is not available.
func (p Policy) Pick(batteryType string, bs []asset.Battery) (asset.Battery, error) {
	var ok []asset.Battery
	why := map[string]int{}
	for _, b := range bs {
		if b.BatteryType != batteryType {
			continue
		}
		if d, reason := p.Dispatchable(b, batteryType); d {
			ok = append(ok, b)
		} else {
			why[reason]++
		}
	}
	if len(ok) == 0 {
		if len(why) == 0 {
			return asset.Battery{}, errs.E(errs.Conflict, "no ready battery: the station holds no battery of type %s", batteryType)
		}
		reasons := make([]string, 0, len(why))
		for _, r := range slices.Sorted(maps.Keys(why)) {
			reasons = append(reasons, fmt.Sprintf("%d %s", why[r], r))
		}
		return asset.Battery{}, errs.E(errs.Conflict, "no ready battery of type %s: %s", batteryType, strings.Join(reasons, ", "))
	}
	slices.SortStableFunc(ok, p.compare)
	return ok[0], nil
}

// compare orders two dispatchable batteries: negative when a goes first.
func (p Policy) compare(a, b asset.Battery) int {
	keys := [][2]int{{b.SoHPct, a.SoHPct}, {b.SoCPct, a.SoCPct}, {a.Cycles, b.Cycles}}
	switch p.Order {
	case BySoC:
		keys[0], keys[1] = keys[1], keys[0]
	case ByCycles:
		keys = [][2]int{keys[2], keys[0], keys[1]}
	}
	for _, k := range keys {
		if k[0] != k[1] {
			return k[0] - k[1]
		}
	}
	return strings.Compare(a.Serial, b.Serial)
}
