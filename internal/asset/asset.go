// Package asset holds the operator's physical assets: sites, the power-distribution tree,
// stations with their EVSEs and connectors, meters and power filters, swap cabinets and
// batteries. Types and rules only; no I/O.
package asset

import (
	"time"

	"github.com/evcs/evcs/internal/energy"
)

// Status of a master-data record. Nothing a bill refers to is ever deleted: it is deactivated.
const (
	Active   = "active"
	Inactive = "inactive"
)

// Address is a postal address.
type Address struct {
	Street     string `json:"street,omitempty" maxLength:"200"`
	City       string `json:"city,omitempty" maxLength:"100"`
	PostalCode string `json:"postal_code,omitempty" maxLength:"20"`
	Country    string `json:"country,omitempty" maxLength:"2" doc:"ISO 3166-1 alpha-2"`
}

// SiteFields are the writable fields of a site.
type SiteFields struct {
	Name            string     `json:"name" minLength:"1" maxLength:"200"`
	TimeZone        string     `json:"time_zone" doc:"IANA time zone, e.g. Europe/Amsterdam"`
	Address         *Address   `json:"address,omitempty"`
	GridLimitKW     *energy.KW `json:"grid_limit_kw,omitempty" doc:"grid connection capacity in kW"`
	DefaultTariffID string     `json:"default_tariff_id,omitempty"`
	ExportTariffID  string     `json:"export_tariff_id,omitempty" doc:"credits energy fed back by V2G discharging"`
}

// Site is a place with stations, one grid connection and one time zone.
type Site struct {
	ID string `json:"id"`
	SiteFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Node kinds of the power-distribution tree.
const (
	NodeGrid        = "grid"
	NodeTransformer = "transformer"
	NodeFeeder      = "feeder"
)

// NodeFields are the writable fields of a distribution node.
type NodeFields struct {
	SiteID      string     `json:"site_id"`
	ParentID    string     `json:"parent_id,omitempty" doc:"empty for the root (grid connection)"`
	Kind        string     `json:"kind" enum:"grid,transformer,feeder"`
	Name        string     `json:"name" minLength:"1" maxLength:"200"`
	LimitKW     *energy.KW `json:"limit_kw,omitempty"`
	LimitKVA    *energy.KW `json:"limit_kva,omitempty" doc:"apparent power limit in kVA"`
	PhaseLimitA *int64     `json:"phase_limit_a,omitempty" minimum:"0"`
}

// Node is a grid connection, transformer or feeder; stations and devices hang off nodes.
type Node struct {
	ID string `json:"id"`
	NodeFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Station kinds.
const (
	KindAC   = "ac"
	KindDC   = "dc"
	KindSwap = "swap"
)

// StationFields are the writable fields of a station.
type StationFields struct {
	SiteID   string `json:"site_id"`
	NodeID   string `json:"node_id,omitempty" doc:"distribution node (feeder) it hangs off"`
	Kind     string `json:"kind,omitempty" enum:"ac,dc,swap"`
	Name     string `json:"name,omitempty" maxLength:"200"`
	TariffID string `json:"tariff_id,omitempty"`
	V2X      bool   `json:"v2x,omitempty" doc:"can discharge (V2G)"`
}

// Station is a charger or swap station, identified by its OCPP identity.
type Station struct {
	ID string `json:"id" doc:"OCPP identity"`
	StationFields
	HasPassword bool       `json:"has_password"`
	Vendor      string     `json:"vendor,omitempty"`
	Model       string     `json:"model,omitempty"`
	Serial      string     `json:"serial,omitempty"`
	Firmware    string     `json:"firmware,omitempty"`
	Protocol    string     `json:"protocol,omitempty"`
	LastBootAt  *time.Time `json:"last_boot_at,omitempty"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`

	PasswordHash string `json:"-"`
}

// EVSEFields are the writable fields of an EVSE.
type EVSEFields struct {
	StationID string `json:"station_id"`
	EVSENo    int    `json:"evse_no" minimum:"1" doc:"OCPP evseId (1.6: connectorId)"`
	TariffID  string `json:"tariff_id,omitempty"`
}

// EVSE is one independently usable charging point of a station.
type EVSE struct {
	ID string `json:"id"`
	EVSEFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Connector types (OCPI names, short).
var ConnectorTypes = []string{"IEC_62196_T1", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T1_COMBO", "CHADEMO", "GBT_AC", "GBT_DC", "TESLA_S", "NACS", "DOMESTIC", "PANTOGRAPH", "OTHER"}

// ConnectorFields are the writable fields of a connector.
type ConnectorFields struct {
	EVSEID      string     `json:"evse_id"`
	ConnectorNo int        `json:"connector_no" minimum:"1"`
	Type        string     `json:"type" enum:"IEC_62196_T1,IEC_62196_T2,IEC_62196_T2_COMBO,IEC_62196_T1_COMBO,CHADEMO,GBT_AC,GBT_DC,TESLA_S,NACS,DOMESTIC,PANTOGRAPH,OTHER"`
	MaxPowerKW  *energy.KW `json:"max_power_kw,omitempty"`
	VoltageV    int        `json:"voltage_v,omitempty" enum:"0,220,230,380,400,500,800,1000" doc:"nominal voltage: 220/380 AC, or DC"`
	Phases      int        `json:"phases,omitempty" minimum:"0" maximum:"3"`
	Current     string     `json:"current,omitempty" enum:"AC,DC"`
}

// Connector is a plug or cable of an EVSE.
type Connector struct {
	ID string `json:"id"`
	ConnectorFields
	StationID string    `json:"station_id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Device kinds.
const (
	DeviceMeter  = "meter"
	DeviceFilter = "active_filter"
)

// DeviceFields are the writable fields of a meter or active power filter.
type DeviceFields struct {
	SiteID      string `json:"site_id"`
	NodeID      string `json:"node_id,omitempty"`
	Kind        string `json:"kind" enum:"meter,active_filter"`
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	ModbusAddr  string `json:"modbus_address,omitempty" doc:"host:port of the Modbus TCP server"`
	ModbusUnit  int    `json:"modbus_unit,omitempty" minimum:"0" maximum:"255"`
	Vendor      string `json:"vendor,omitempty"`
	Model       string `json:"model,omitempty"`
	Description string `json:"description,omitempty" maxLength:"500"`
}

// Device is a site meter or an active power filter on a distribution node.
type Device struct {
	ID string `json:"id"`
	DeviceFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CabinetFields are the writable fields of a swap cabinet.
type CabinetFields struct {
	StationID string `json:"station_id"`
	Name      string `json:"name" minLength:"1" maxLength:"200"`
	Slots     int    `json:"slots" minimum:"1" maximum:"200"`
}

// Cabinet is a rack of battery slots in a swap station.
type Cabinet struct {
	ID string `json:"id"`
	CabinetFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Battery states.
const (
	BatteryCharging    = "charging"
	BatteryReady       = "ready"
	BatteryReserved    = "reserved"
	BatteryInVehicle   = "in_vehicle"
	BatteryFaulty      = "faulty"
	BatteryMaintenance = "maintenance"
)

// BatteryFields are the writable fields of a swap battery.
type BatteryFields struct {
	Serial      string `json:"serial" minLength:"1" maxLength:"100"`
	BatteryType string `json:"battery_type" minLength:"1" maxLength:"50"`
	Chemistry   string `json:"chemistry,omitempty" maxLength:"50" doc:"e.g. LFP, NMC"`
	CapacityWh  int64  `json:"capacity_wh" minimum:"1"`
	SoHPct      int    `json:"soh_pct" minimum:"0" maximum:"100"`
	Cycles      int    `json:"cycles,omitempty" minimum:"0"`
	SoCPct      int    `json:"soc_pct,omitempty" minimum:"0" maximum:"100"`
	CabinetID   string `json:"cabinet_id,omitempty"`
	SlotNo      int    `json:"slot_no,omitempty" minimum:"0"`
	VehicleID   string `json:"vehicle_id,omitempty"`
	State       string `json:"state,omitempty" enum:"charging,ready,reserved,in_vehicle,faulty,maintenance"`
}

// Battery is a swappable battery pack.
type Battery struct {
	ID string `json:"id"`
	BatteryFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
