package sim

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Meter models one EVSE's energy meter and the vehicle plugged into it. All bookkeeping is in
// integers: energy in Wh (int64, never decreasing), power in W, current in deci-amperes, SoC in
// per mille. Energy below one Wh is carried over in W·ms so that nothing is lost to rounding.
type Meter struct {
	Kind     string // "ac" or "dc"
	MaxW     int64  // the EVSE's rating: AC 7–22 kW, DC 50–350 kW
	Phases   int64  // AC: 1 or 3; DC: 1
	VoltageV int64  // AC: 230 (one phase) or 400 (three phases, line to line); DC: pack base 400 or 800
	EnergyWh int64  // the register (Energy.Active.Import.Register)
	remWms   int64  // energy not yet counted, in W·ms (< 3.6e6)

	// The vehicle of the current session.
	CapacityWh  int64 // battery size
	vehicleWh   int64 // energy in the battery
	VehicleMaxW int64 // what the car accepts (on-board charger for AC, battery limit for DC)
	LimitW      int64 // cap from a charging profile, 0 = none
	PowerW      int64 // power of the last Advance
}

// Sample is one reading of the meter.
type Sample struct {
	EnergyWh   int64
	PowerW     int64
	CurrentDA  int64 // deci-amperes (per phase for AC)
	VoltageV   int64
	SoCPercent int64
	HasSoC     bool // DC chargers learn the SoC from the car; AC ones do not
	Full       bool // the vehicle's battery is full: no more power flows
}

// NewMeter returns the meter of an EVSE of kind "ac" or "dc" with a rating drawn from rng and a
// register that starts at a plausible non-zero reading.
func NewMeter(kind string, rng *rand.Rand) *Meter {
	m := &Meter{Kind: kind, EnergyWh: rng.Int64N(5_000_000)}
	if kind == "dc" {
		m.MaxW = (50 + rng.Int64N(301)) * 1000
		m.Phases = 1
		m.VoltageV = 400
		if m.MaxW > 150_000 {
			m.VoltageV = 800
		}
	} else {
		m.MaxW = 7000 + rng.Int64N(15_001)
		m.Phases, m.VoltageV = 3, 400
		if m.MaxW <= 7400 {
			m.Phases, m.VoltageV = 1, 230
		}
	}
	return m
}

// PlugIn connects a new vehicle: battery 40–100 kWh at 10–50 % SoC.
func (m *Meter) PlugIn(rng *rand.Rand) {
	m.CapacityWh = (40 + rng.Int64N(61)) * 1000
	m.vehicleWh = m.CapacityWh * (10 + rng.Int64N(41)) / 100
	if m.Kind == "dc" {
		m.VehicleMaxW = m.MaxW // the charger is the bottleneck; the taper does the rest
	} else {
		m.VehicleMaxW = m.MaxW
	}
	m.PowerW = 0
}

// socPermille is the battery's state of charge in ‰.
func (m *Meter) socPermille() int64 {
	if m.CapacityWh <= 0 {
		return 0
	}
	return m.vehicleWh * 1000 / m.CapacityWh
}

// targetPower is what would flow now: the smallest of the EVSE rating, the car's limit and
// the charging-profile limit, then the DC taper: full power up to 55 % SoC, falling linearly
// to 10 % of it at 100 %. AC charges flat until the battery is full.
func (m *Meter) targetPower() int64 {
	p := m.MaxW
	if m.VehicleMaxW > 0 && m.VehicleMaxW < p {
		p = m.VehicleMaxW
	}
	if m.LimitW > 0 && m.LimitW < p {
		p = m.LimitW
	}
	soc := m.socPermille()
	if soc >= 1000 {
		return 0
	}
	if m.Kind == "dc" && soc > 550 {
		p = p * (1000 - (soc-550)*900/450) / 1000
	}
	return p
}

// Advance lets dt of charging pass and returns the energy added in Wh.
func (m *Meter) Advance(dt time.Duration) int64 {
	if dt <= 0 {
		return 0
	}
	m.PowerW = m.targetPower()
	wms := m.PowerW*dt.Milliseconds() + m.remWms
	wh := wms / 3_600_000
	m.remWms = wms % 3_600_000
	if room := m.CapacityWh - m.vehicleWh; wh > room {
		wh = room
	}
	m.EnergyWh += wh
	m.vehicleWh += wh
	return wh
}

// Idle records that no power flows (before the first sample and after the session).
func (m *Meter) Idle() { m.PowerW = 0 }

// Sample reads the meter.
func (m *Meter) Sample() Sample {
	s := Sample{EnergyWh: m.EnergyWh, PowerW: m.PowerW, VoltageV: m.voltage(),
		Full: m.CapacityWh > 0 && m.vehicleWh >= m.CapacityWh}
	switch {
	case m.Kind == "dc":
		s.CurrentDA = m.PowerW * 10 / s.VoltageV
		s.HasSoC = true
		s.SoCPercent = m.socPermille() / 10
	case m.Phases == 3:
		// P = √3 · U_LL · I  →  I[dA] = P·10 / (1.7320508 · U_LL)
		s.CurrentDA = m.PowerW * 100_000_000 / (17_320_508 * s.VoltageV)
	default:
		s.CurrentDA = m.PowerW * 10 / s.VoltageV
	}
	return s
}

// voltage: AC is the nominal grid voltage; a DC pack's voltage rises with its SoC (from 90 %
// to 105 % of nominal).
func (m *Meter) voltage() int64 {
	if m.Kind != "dc" {
		return m.VoltageV
	}
	return m.VoltageV * (900 + m.socPermille()*150/1000) / 1000
}

// LimitToW converts a charging-profile limit in W ("W") or A ("A", per phase for AC) into
// watts for this EVSE.
func (m *Meter) LimitToW(limit float64, unit string) int64 {
	if limit <= 0 {
		return 0
	}
	if unit == "A" {
		switch {
		case m.Kind == "dc":
			limit *= float64(m.voltage())
		case m.Phases == 3:
			limit *= 230 * 3
		default:
			limit *= 230
		}
	}
	return int64(limit)
}

// WToLimit converts watts back into the unit a schedule asks for.
func (m *Meter) WToLimit(w int64, unit string) float64 {
	if unit != "A" {
		return float64(w)
	}
	switch {
	case m.Kind == "dc":
		return float64(w*10/m.voltage()) / 10
	case m.Phases == 3:
		return float64(w*10/(230*3)) / 10
	}
	return float64(w*10/230) / 10
}

// deci formats a value in tenths as a decimal string ("163" → "16.3").
func deci(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v/10, 10) + "." + strconv.FormatInt(v%10, 10)
	if neg {
		s = "-" + s
	}
	return s
}
