package charging

import (
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
)

// ParseSample converts a sampled value as stations send it ("12.345" in kWh, "7200" in W, …)
// to milli base units, exactly. Unit defaults follow OCPP: Wh for energy, W for power.
func ParseSample(value, measurand, unit string, multiplier int) (milli int64, baseUnit string, err error) {
	if measurand == "" {
		measurand = EnergyImport // the OCPP default measurand
	}
	d, perr := decimal.Parse(strings.TrimSpace(value))
	if perr != nil {
		return 0, "", errs.Field("value", "%q is not a number", value)
	}
	scale := 3 + multiplier // to milli, with 2.x unitOfMeasure multiplier (10^m)
	switch unit {
	case "kWh", "kW", "kvarh", "kvar", "kVA", "kVAh":
		scale += 3
		unit = unit[1:]
	case "":
		unit = defaultUnit(measurand)
	case "Percent":
		unit = "%"
	case "Celcius", "Celsius":
		unit = "Celsius"
	}
	step, _ := decimal.New(1, 1) // 0.1
	if scale > 0 {
		step = decimal.Ten
	}
	for ; scale != 0; scale -= sign(scale) {
		var merr error
		if d, merr = d.Mul(step); merr != nil {
			return 0, "", errs.Field("value", "%q out of range", value)
		}
	}
	whole, _, ok := d.Trunc(0).Int64(0)
	if !ok {
		return 0, "", errs.Field("value", "%q out of range", value)
	}
	return whole, unit, nil
}

func sign(i int) int {
	if i < 0 {
		return -1
	}
	return 1
}

func defaultUnit(measurand string) string {
	switch {
	case strings.HasPrefix(measurand, "Energy.Reactive"):
		return "varh"
	case strings.HasPrefix(measurand, "Energy"):
		return "Wh"
	case strings.HasPrefix(measurand, "Power.Reactive"):
		return "var"
	case strings.HasPrefix(measurand, "Power.Factor"):
		return ""
	case strings.HasPrefix(measurand, "Power"):
		return "W"
	case strings.HasPrefix(measurand, "Current"):
		return "A"
	case measurand == "Voltage":
		return "V"
	case measurand == "Frequency":
		return "Hz"
	case measurand == "SoC":
		return "%"
	case measurand == "Temperature":
		return "Celsius"
	}
	return ""
}

// Apply folds readings into a running session: the energy registers give energy delivered and
// exported since the start, power and SoC their latest values. Readings of other phases or
// locations than the whole-EVSE outlet are kept but not folded.
func (s *Session) Apply(rs []Reading) {
	for _, r := range rs {
		if r.Phase != "" || (r.Location != "" && r.Location != "Outlet") {
			continue
		}
		switch r.Measurand {
		case EnergyImport:
			wh := r.Milli / 1000
			if wh >= s.MeterStart && wh-s.MeterStart > s.EnergyWh {
				s.EnergyWh = wh - s.MeterStart
			}
		case EnergyExport:
			wh := r.Milli / 1000
			if s.ExportStart == 0 && s.ExportedWh == 0 && r.Context == "Transaction.Begin" {
				s.ExportStart = wh
				continue
			}
			if wh >= s.ExportStart && wh-s.ExportStart > s.ExportedWh {
				s.ExportedWh = wh - s.ExportStart
			}
		case PowerImport:
			s.PowerW = r.Milli / 1000
		case PowerExport:
			if r.Milli > 0 {
				s.PowerW = -r.Milli / 1000
			}
		case SoCMeasurand:
			v := int(r.Milli / 1000)
			if s.SoCStart == nil {
				s.SoCStart = &v
			}
			s.SoC = &v
		}
	}
	if s.ExportedWh > s.EnergyWh {
		s.Kind = KindDischarge
	}
}

// Finish closes the session at `at`. The station's meter stop is authoritative for the energy
// delivered unless it is below the meter start (a meter swapped or reset), in which case the
// energy the readings showed is kept rather than going negative.
func (s *Session) Finish(meterStop *int64, at time.Time, reason string) {
	s.Status = Completed
	s.StoppedAt = &at
	if reason != "" {
		s.StopReason = reason
	} else if s.StopReason == "" {
		s.StopReason = "Local"
	}
	if meterStop != nil {
		s.MeterStop = meterStop
		if *meterStop >= s.MeterStart {
			s.EnergyWh = *meterStop - s.MeterStart
		}
	}
	if s.ExportedWh > s.EnergyWh {
		s.Kind = KindDischarge
	}
}

// FormatMilli writes a milli-unit value as an exact decimal ("12345.678", "7200", "-0.5").
func FormatMilli(v int64) string {
	d, _ := decimal.New(v, 3)
	return d.Trim(0).String()
}
