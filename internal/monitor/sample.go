package monitor

import (
	"time"
)

// Presence is when a station was last known to be connected. The node holding a station's
// socket refreshes it; any node can then tell an offline station from one connected elsewhere.
type Presence struct {
	StationID string    `json:"station_id"`
	SiteID    string    `json:"site_id,omitempty"`
	Connected bool      `json:"connected"`
	LastSeen  time.Time `json:"last_seen"`
}

// Sample is one read of a site meter or active filter. Every value is an exact integer in
// milli-units (230.123 V = 230123) except power (W, var, VA) and energy (Wh); a quantity the
// device does not have is zero.
type Sample struct {
	At          time.Time
	Voltage     [3]int64 // mV, L1..L3 to neutral
	Current     [3]int64 // mA
	PowerW      int64    // active, total
	ReactiveVar int64
	ApparentVA  int64
	PowerFactor int64    // ×1000, signed
	FrequencyMH int64    // mHz
	VoltageTHD  [3]int64 // milli-percent
	CurrentTHD  [3]int64 // milli-percent
	ImportWh    int64
	ExportWh    int64
	// Compensation is the current an active filter injects, mA per phase.
	Compensation [3]int64
	// Filter is set for active filters (Compensation is meaningful).
	Filter bool
}

// Quantities of device readings, with their units.
const (
	QVoltage      = "voltage"        // V
	QCurrent      = "current"        // A
	QPower        = "power_active"   // W
	QReactive     = "power_reactive" // var
	QApparent     = "power_apparent" // VA
	QPowerFactor  = "power_factor"   // (none)
	QFrequency    = "frequency"      // Hz
	QVoltageTHD   = "thd_voltage"    // %
	QCurrentTHD   = "thd_current"    // %
	QImport       = "energy_import"  // Wh
	QExport       = "energy_export"  // Wh
	QCompensation = "compensation_current"
)

// DeviceReading is one stored value of a device sample: Milli is the value × 1000 in Unit.
type DeviceReading struct {
	DeviceID string    `json:"device_id"`
	At       time.Time `json:"at"`
	Quantity string    `json:"quantity"`
	Phase    string    `json:"phase,omitempty"`
	Unit     string    `json:"unit"`
	Milli    int64     `json:"-"`
}

var phases = [3]string{"L1", "L2", "L3"}

// Readings flattens a sample into stored readings.
func (s Sample) Readings(deviceID string) []DeviceReading {
	out := make([]DeviceReading, 0, 24)
	add := func(q, phase, unit string, milli int64) {
		out = append(out, DeviceReading{DeviceID: deviceID, At: s.At, Quantity: q, Phase: phase, Unit: unit, Milli: milli})
	}
	per := func(q, unit string, v [3]int64) {
		for i, x := range v {
			add(q, phases[i], unit, x)
		}
	}
	per(QVoltage, "V", s.Voltage)
	per(QCurrent, "A", s.Current)
	add(QPower, "", "W", s.PowerW*1000)
	add(QReactive, "", "var", s.ReactiveVar*1000)
	add(QApparent, "", "VA", s.ApparentVA*1000)
	add(QPowerFactor, "", "", s.PowerFactor)
	add(QFrequency, "", "Hz", s.FrequencyMH)
	per(QVoltageTHD, "%", s.VoltageTHD)
	per(QCurrentTHD, "%", s.CurrentTHD)
	add(QImport, "", "Wh", s.ImportWh*1000)
	add(QExport, "", "Wh", s.ExportWh*1000)
	if s.Filter {
		per(QCompensation, "A", s.Compensation)
	}
	return out
}
