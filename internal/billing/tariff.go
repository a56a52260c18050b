package billing

// Tariff model of OCPI 2.2.1, module Tariffs (mod_tariffs.asciidoc), with the JSON names of
// the specification.

// TariffType is OCPI TariffType.
type TariffType string

const (
	TariffAdHocPayment TariffType = "AD_HOC_PAYMENT"
	TariffProfileCheap TariffType = "PROFILE_CHEAP"
	TariffProfileFast  TariffType = "PROFILE_FAST"
	TariffProfileGreen TariffType = "PROFILE_GREEN"
	TariffRegular      TariffType = "REGULAR"
)

// DimensionType is OCPI TariffDimensionType: what a price component is charged for.
type DimensionType string

const (
	DimEnergy      DimensionType = "ENERGY"       // per kWh, step_size in Wh
	DimFlat        DimensionType = "FLAT"         // once, no unit
	DimParkingTime DimensionType = "PARKING_TIME" // per hour not charging, step_size in s
	DimTime        DimensionType = "TIME"         // per hour charging (or reserved), step_size in s
)

// DayOfWeek is OCPI DayOfWeek.
type DayOfWeek string

const (
	Monday    DayOfWeek = "MONDAY"
	Tuesday   DayOfWeek = "TUESDAY"
	Wednesday DayOfWeek = "WEDNESDAY"
	Thursday  DayOfWeek = "THURSDAY"
	Friday    DayOfWeek = "FRIDAY"
	Saturday  DayOfWeek = "SATURDAY"
	Sunday    DayOfWeek = "SUNDAY"
)

// ReservationRestrictionType is OCPI ReservationRestrictionType.
type ReservationRestrictionType string

const (
	Reservation        ReservationRestrictionType = "RESERVATION"
	ReservationExpires ReservationRestrictionType = "RESERVATION_EXPIRES"
)

// Amount is the OCPI Price class (named Amount here because Price is the rating function). InclVat is absent when it cannot be computed (a price component
// without VAT took part, see doc.go).
type Amount struct {
	ExclVat Number  `json:"excl_vat"`
	InclVat *Number `json:"incl_vat,omitempty"`
}

// DisplayText is OCPI DisplayText.
type DisplayText struct {
	Language string `json:"language"`
	Text     string `json:"text"`
}

// EnergySource is OCPI EnergySource.
type EnergySource struct {
	Source     string `json:"source"`
	Percentage Number `json:"percentage"`
}

// EnvironmentalImpact is OCPI EnvironmentalImpact.
type EnvironmentalImpact struct {
	Category string `json:"category"`
	Amount   Number `json:"amount"`
}

// EnergyMix is OCPI EnergyMix (informational, not used for rating).
type EnergyMix struct {
	IsGreenEnergy     bool                  `json:"is_green_energy"`
	EnergySources     []EnergySource        `json:"energy_sources,omitempty"`
	EnvironImpact     []EnvironmentalImpact `json:"environ_impact,omitempty"`
	SupplierName      string                `json:"supplier_name,omitempty"`
	EnergyProductName string                `json:"energy_product_name,omitempty"`
}

// PriceComponent is OCPI PriceComponent. Vat nil means "no VAT applicable", which OCPI
// distinguishes from 0 %.
type PriceComponent struct {
	Type     DimensionType `json:"type"`
	Price    Number        `json:"price"`
	Vat      *Number       `json:"vat,omitempty"`
	StepSize int64         `json:"step_size"`
}

// TariffRestrictions is OCPI TariffRestrictions. Times and dates are local to the location.
type TariffRestrictions struct {
	StartTime   string                     `json:"start_time,omitempty"`
	EndTime     string                     `json:"end_time,omitempty"`
	StartDate   string                     `json:"start_date,omitempty"`
	EndDate     string                     `json:"end_date,omitempty"`
	MinKWh      *Number                    `json:"min_kwh,omitempty"`
	MaxKWh      *Number                    `json:"max_kwh,omitempty"`
	MinCurrent  *Number                    `json:"min_current,omitempty"`
	MaxCurrent  *Number                    `json:"max_current,omitempty"`
	MinPower    *Number                    `json:"min_power,omitempty"`
	MaxPower    *Number                    `json:"max_power,omitempty"`
	MinDuration *int64                     `json:"min_duration,omitempty"`
	MaxDuration *int64                     `json:"max_duration,omitempty"`
	DayOfWeek   []DayOfWeek                `json:"day_of_week,omitempty"`
	Reservation ReservationRestrictionType `json:"reservation,omitempty"`
}

// TariffElement is OCPI TariffElement.
type TariffElement struct {
	PriceComponents []PriceComponent    `json:"price_components"`
	Restrictions    *TariffRestrictions `json:"restrictions,omitempty"`
}

// Tariff is OCPI Tariff.
type Tariff struct {
	CountryCode   string          `json:"country_code"`
	PartyID       string          `json:"party_id"`
	ID            string          `json:"id"`
	Currency      string          `json:"currency"`
	Type          TariffType      `json:"type,omitempty"`
	TariffAltText []DisplayText   `json:"tariff_alt_text,omitempty"`
	TariffAltURL  string          `json:"tariff_alt_url,omitempty"`
	MinPrice      *Amount         `json:"min_price,omitempty"`
	MaxPrice      *Amount         `json:"max_price,omitempty"`
	Elements      []TariffElement `json:"elements"`
	StartDateTime *DateTime       `json:"start_date_time,omitempty"`
	EndDateTime   *DateTime       `json:"end_date_time,omitempty"`
	EnergyMix     *EnergyMix      `json:"energy_mix,omitempty"`
	LastUpdated   DateTime        `json:"last_updated,omitzero"`
}
