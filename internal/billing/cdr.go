package billing

import (
	"encoding/json"
	"fmt"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

// CdrDimensionType is OCPI 2.2.1 CdrDimensionType (mod_sessions.asciidoc).
type CdrDimensionType string

const (
	CdrCurrent         CdrDimensionType = "CURRENT"          // A, average over the period
	CdrEnergy          CdrDimensionType = "ENERGY"           // kWh charged in the period
	CdrEnergyExport    CdrDimensionType = "ENERGY_EXPORT"    // kWh
	CdrEnergyImport    CdrDimensionType = "ENERGY_IMPORT"    // kWh
	CdrMaxCurrent      CdrDimensionType = "MAX_CURRENT"      // A
	CdrMinCurrent      CdrDimensionType = "MIN_CURRENT"      // A
	CdrMaxPower        CdrDimensionType = "MAX_POWER"        // kW
	CdrMinPower        CdrDimensionType = "MIN_POWER"        // kW
	CdrParkingTime     CdrDimensionType = "PARKING_TIME"     // hours not charging
	CdrPower           CdrDimensionType = "POWER"            // kW, average over the period
	CdrReservationTime CdrDimensionType = "RESERVATION_TIME" // hours reserved
	CdrStateOfCharge   CdrDimensionType = "STATE_OF_CHARGE"  // %
	CdrTime            CdrDimensionType = "TIME"             // hours charging
)

func knownCdrDimension(t CdrDimensionType) bool {
	switch t {
	case CdrCurrent, CdrEnergy, CdrEnergyExport, CdrEnergyImport, CdrMaxCurrent, CdrMinCurrent,
		CdrMaxPower, CdrMinPower, CdrParkingTime, CdrPower, CdrReservationTime, CdrStateOfCharge, CdrTime:
		return true
	}
	return false
}

// CdrDimension is OCPI CdrDimension.
type CdrDimension struct {
	Type   CdrDimensionType `json:"type"`
	Volume Number           `json:"volume"`
}

// ChargingPeriod is OCPI ChargingPeriod: it lasts until the next period starts, the last one
// until the CDR's end_date_time.
type ChargingPeriod struct {
	StartDateTime DateTime       `json:"start_date_time"`
	Dimensions    []CdrDimension `json:"dimensions"`
	TariffID      string         `json:"tariff_id,omitempty"`
}

// CDR is the subset of the OCPI 2.2.1 CDR that rating reads. Every other top-level field of
// a decoded CDR is kept, in input order, and written back by PriceJSON.
type CDR struct {
	StartDateTime   DateTime         `json:"start_date_time"`
	EndDateTime     DateTime         `json:"end_date_time"`
	Currency        string           `json:"currency"`
	ChargingPeriods []ChargingPeriod `json:"charging_periods"`

	raw []rawField // the decoded object, every field in input order
}

type rawField struct {
	key   string
	value json.RawMessage
}

// Validate checks the fields rating needs, naming the offending one.
func (c *CDR) Validate() error {
	if c.StartDateTime.IsZero() {
		return errs.Field("start_date_time", "is required")
	}
	if c.EndDateTime.IsZero() {
		return errs.Field("end_date_time", "is required")
	}
	if c.EndDateTime.Before(c.StartDateTime.Time) {
		return errs.Field("end_date_time", "must not be before start_date_time")
	}
	if err := money.CheckCurrency("currency", c.Currency); err != nil {
		return err
	}
	if len(c.ChargingPeriods) == 0 {
		return errs.Field("charging_periods", "at least one charging period is required")
	}
	for i := range c.ChargingPeriods {
		p := &c.ChargingPeriods[i]
		path := func(f string) string { return fmt.Sprintf("charging_periods[%d].%s", i, f) }
		if p.StartDateTime.IsZero() {
			return errs.Field(path("start_date_time"), "is required")
		}
		if p.StartDateTime.After(c.EndDateTime.Time) {
			return errs.Field(path("start_date_time"), "is after the CDR's end_date_time")
		}
		if i > 0 && p.StartDateTime.Before(c.ChargingPeriods[i-1].StartDateTime.Time) {
			return errs.Field(path("start_date_time"), "periods must be in chronological order")
		}
		if len(p.Dimensions) == 0 {
			return errs.Field(path("dimensions"), "at least one dimension is required")
		}
		for j := range p.Dimensions {
			d := &p.Dimensions[j]
			dp := func(f string) string { return path(fmt.Sprintf("dimensions[%d].%s", j, f)) }
			if !knownCdrDimension(d.Type) {
				return errs.Field(dp("type"), "unknown dimension type %q", d.Type)
			}
			if d.Volume.d.Sign() < 0 {
				return errs.Field(dp("volume"), "must not be negative")
			}
		}
	}
	return nil
}

// TimeZone returns the IANA time zone the CDR carries in location.time_zone (or
// cdr_location.time_zone), "" when it has none.
func (c *CDR) TimeZone() string {
	for _, key := range [...]string{"location", "cdr_location"} {
		for _, f := range c.raw {
			if f.key != key {
				continue
			}
			var loc struct {
				TimeZone string `json:"time_zone"`
			}
			if json.Unmarshal(f.value, &loc) == nil && loc.TimeZone != "" {
				return loc.TimeZone
			}
		}
	}
	return ""
}
