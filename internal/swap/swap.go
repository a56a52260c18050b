// Package swap holds battery swapping: swap orders, the policy that picks the battery a vehicle
// gets, the rule that prices a swap, and the schedule that charges the batteries in a station's
// slots. Types and rules only; no I/O, no clock.
//
// # Flow of a swap order
//
//	requested ─(battery dispatched, funds held)─▶ dispatched ─BatteryIn─▶ in_received ─BatteryOut─▶ completed
//	                                                   │                        │
//	                                                   └──BatteryOutTimeout─────┴──▶ timed_out (nothing billed)
//
// An order is created either by EVCS (operator or API: RequestBatterySwap is then sent to the
// station) or by the station itself, when its first BatteryIn arrives with a requestId EVCS does
// not know. "In" and "out" are seen from the station, as in OCPP 2.1 BatterySwap: BatteryIn is
// the depleted battery taken out of the vehicle and put into a slot, BatteryOut the charged
// battery taken out of a slot and put into the vehicle.
package swap

import (
	"time"
)

// Order states.
const (
	Dispatched = "dispatched"  // a battery is reserved for the vehicle and funds are held
	InReceived = "in_received" // the vehicle's battery is in the station
	Completed  = "completed"   // the vehicle drove off with the new battery; billed
	TimedOut   = "timed_out"   // BatteryOutTimeout: the battery was not taken; nothing billed
	Cancelled  = "cancelled"   // the station refused RequestBatterySwap, or an operator cancelled
)

// Final reports whether an order can no longer change.
func Final(status string) bool {
	return status == Completed || status == TimedOut || status == Cancelled
}

// Order is one battery swap of one vehicle at one station.
type Order struct {
	ID          string `json:"id"`
	StationID   string `json:"station_id"`
	RequestID   int    `json:"request_id" doc:"OCPP requestId of RequestBatterySwap / BatterySwap"`
	Origin      string `json:"origin" doc:"csms (requested through EVCS) or station (started at the station)"`
	AccountID   string `json:"account_id"`
	IdToken     string `json:"id_token,omitempty"`
	VehicleID   string `json:"vehicle_id,omitempty"`
	BatteryType string `json:"battery_type"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty" doc:"why it was cancelled or timed out"`

	// The battery dispatched to the vehicle (BatteryOut).
	OutBatteryID string   `json:"out_battery_id,omitempty"`
	OutSerial    string   `json:"out_serial,omitempty"`
	OutSoCPct    *float64 `json:"out_soc_pct,omitempty"`
	OutSoHPct    *float64 `json:"out_soh_pct,omitempty"`
	OutCapWh     int64    `json:"out_capacity_wh,omitempty"`
	// The battery taken out of the vehicle (BatteryIn).
	InBatteryID string   `json:"in_battery_id,omitempty"`
	InSerial    string   `json:"in_serial,omitempty"`
	InSoCPct    *float64 `json:"in_soc_pct,omitempty"`
	InSoHPct    *float64 `json:"in_soh_pct,omitempty"`

	// Billing.
	TariffID      string `json:"tariff_id,omitempty"`
	TariffVersion int    `json:"tariff_version,omitempty"`
	Currency      string `json:"currency,omitempty"`
	HeldMinor     int64  `json:"held_minor,omitempty"`
	EnergyWh      int64  `json:"energy_wh" doc:"capacity × (SoC out − SoC in), what the vehicle got"`
	EnergyMinor   int64  `json:"energy_minor,omitempty" doc:"energy part, as charged (incl. VAT when known)"`
	FeeMinor      int64  `json:"fee_minor,omitempty" doc:"swap fee part, as charged (incl. VAT when known)"`
	TotalMinor    *int64 `json:"total_minor,omitempty" doc:"what was charged, rounded once"`
	ExclVATMinor  int64  `json:"excl_vat_minor,omitempty"`

	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Origins of an order.
const (
	OriginCSMS    = "csms"
	OriginStation = "station"
)

// Battery history event kinds.
const (
	EventSwapIn   = "swap_in"  // taken out of a vehicle into a station
	EventSwapOut  = "swap_out" // taken out of a station into a vehicle
	EventSoH      = "soh"      // a state-of-health reading
	EventRetired  = "retired"  // taken out of rotation (SoH below the threshold)
	EventReserved = "reserved" // reserved for a swap order
	EventReleased = "released" // reservation released (order timed out or cancelled)
)

// BatteryEvent is one line of a battery's history: every swap and every SoH reading.
type BatteryEvent struct {
	ID        string    `json:"id"`
	BatteryID string    `json:"battery_id"`
	Serial    string    `json:"serial"`
	Kind      string    `json:"kind"`
	OrderID   string    `json:"order_id,omitempty"`
	StationID string    `json:"station_id,omitempty"`
	VehicleID string    `json:"vehicle_id,omitempty"`
	SoCPct    *float64  `json:"soc_pct,omitempty"`
	SoHPct    *float64  `json:"soh_pct,omitempty"`
	State     string    `json:"state,omitempty" doc:"the battery's state after the event"`
	Note      string    `json:"note,omitempty"`
	At        time.Time `json:"at"`
}
