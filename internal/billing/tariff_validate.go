package billing

import (
	"fmt"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

// maxPriceScale: DESIGN.md §4, prices in tariffs have at most 4 fraction digits
// (also the OCPI default precision of a number, types.asciidoc).
const maxPriceScale = 4

// Validate checks a tariff against OCPI 2.2.1 and the EVCS data rules. The error is an
// errs.Field naming the JSON path of the first offending value.
func (t *Tariff) Validate() error {
	if err := checkCiString("country_code", t.CountryCode, 2, 2); err != nil {
		return err
	}
	if err := checkCiString("party_id", t.PartyID, 1, 3); err != nil {
		return err
	}
	if err := checkCiString("id", t.ID, 1, 36); err != nil {
		return err
	}
	if err := money.CheckCurrency("currency", t.Currency); err != nil {
		return err
	}
	switch t.Type {
	case "", TariffAdHocPayment, TariffProfileCheap, TariffProfileFast, TariffProfileGreen, TariffRegular:
	default:
		return errs.Field("type", "unknown tariff type %q", t.Type)
	}
	if err := checkPrice("min_price", t.MinPrice); err != nil {
		return err
	}
	if err := checkPrice("max_price", t.MaxPrice); err != nil {
		return err
	}
	if t.MinPrice != nil && t.MaxPrice != nil {
		if t.MinPrice.ExclVat.d.Cmp(t.MaxPrice.ExclVat.d) > 0 {
			return errs.Field("min_price.excl_vat", "must not exceed max_price.excl_vat")
		}
		if t.MinPrice.InclVat != nil && t.MaxPrice.InclVat != nil && t.MinPrice.InclVat.d.Cmp(t.MaxPrice.InclVat.d) > 0 {
			return errs.Field("min_price.incl_vat", "must not exceed max_price.incl_vat")
		}
	}
	if t.StartDateTime != nil && t.EndDateTime != nil && t.StartDateTime.After(t.EndDateTime.Time) {
		return errs.Field("start_date_time", "must not be after end_date_time")
	}
	if len(t.Elements) == 0 {
		return errs.Field("elements", "at least one tariff element is required")
	}
	for i := range t.Elements {
		if err := t.Elements[i].validate(i); err != nil {
			return err
		}
	}
	return nil
}

func checkCiString(field, s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen {
		if minLen == maxLen {
			return errs.Field(field, "must be %d characters", minLen)
		}
		return errs.Field(field, "must be %d to %d characters", minLen, maxLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return errs.Field(field, "must be printable ASCII")
		}
	}
	return nil
}

func checkPrice(field string, p *Amount) error {
	if p == nil {
		return nil
	}
	if err := checkAmount(field+".excl_vat", p.ExclVat.d); err != nil {
		return err
	}
	if p.InclVat != nil {
		if err := checkAmount(field+".incl_vat", p.InclVat.d); err != nil {
			return err
		}
		if p.InclVat.d.Cmp(p.ExclVat.d) < 0 {
			return errs.Field(field+".incl_vat", "must not be less than excl_vat")
		}
	}
	return nil
}

func checkAmount(field string, d decimal.Decimal) error {
	if d.Sign() < 0 {
		return errs.Field(field, "must not be negative")
	}
	if d.Trim(0).Scale() > maxPriceScale {
		return errs.Field(field, "%s has more than %d fraction digits", d, maxPriceScale)
	}
	return nil
}

// validate checks element i; paths are only formatted when there is an error, so that
// validating a good tariff (done on every Price call) allocates nothing.
func (e *TariffElement) validate(i int) error {
	if len(e.PriceComponents) == 0 {
		return errs.Field(fmt.Sprintf("elements[%d].price_components", i), "at least one price component is required")
	}
	var res ReservationRestrictionType
	if e.Restrictions != nil {
		if err := e.Restrictions.validate(i); err != nil {
			return err
		}
		res = e.Restrictions.Reservation
	}
	for j := range e.PriceComponents {
		pc := &e.PriceComponents[j]
		if err := pc.validate(res); err != nil {
			return prefixField(fmt.Sprintf("elements[%d].price_components[%d].", i, j), err)
		}
	}
	return nil
}

// prefixField puts a path in front of the field an error names.
func prefixField(prefix string, err error) error {
	if e, ok := err.(*errs.Error); ok {
		c := *e
		c.Field = prefix + c.Field
		return &c
	}
	return err
}

func (pc *PriceComponent) validate(res ReservationRestrictionType) error {
	switch pc.Type {
	case DimEnergy, DimFlat, DimParkingTime, DimTime:
	default:
		return errs.Field("type", "unknown dimension type %q", pc.Type)
	}
	// mod_tariffs "reservation": "A reservation can only have: FLAT and TIME TariffDimensions".
	if res != "" && pc.Type != DimFlat && pc.Type != DimTime {
		return errs.Field("type", "%s is not allowed in a reservation element (only FLAT and TIME)", pc.Type)
	}
	if err := checkAmount("price", pc.Price.d); err != nil {
		return err
	}
	if pc.Vat != nil && pc.Vat.d.Sign() < 0 {
		return errs.Field("vat", "must not be negative")
	}
	if pc.StepSize <= 0 {
		return errs.Field("step_size", "must be > 0")
	}
	return nil
}

func (r *TariffRestrictions) validate(i int) error {
	if err := r.check(); err != nil {
		return prefixField(fmt.Sprintf("elements[%d].restrictions.", i), err)
	}
	return nil
}

func (r *TariffRestrictions) check() error {
	if r.StartTime != "" {
		if _, ok := parseHHMM(r.StartTime); !ok {
			return errs.Field("start_time", "%q is not a time of day HH:MM", r.StartTime)
		}
	}
	if r.EndTime != "" {
		if _, ok := parseHHMM(r.EndTime); !ok {
			return errs.Field("end_time", "%q is not a time of day HH:MM", r.EndTime)
		}
	}
	var sd, ed int
	var ok bool
	if r.StartDate != "" {
		if sd, ok = parseDate(r.StartDate); !ok {
			return errs.Field("start_date", "%q is not a date YYYY-MM-DD", r.StartDate)
		}
	}
	if r.EndDate != "" {
		if ed, ok = parseDate(r.EndDate); !ok {
			return errs.Field("end_date", "%q is not a date YYYY-MM-DD", r.EndDate)
		}
	}
	if sd != 0 && ed != 0 && sd >= ed {
		return errs.Field("start_date", "must be before end_date (end_date is exclusive)")
	}
	if err := checkRange("kwh", r.MinKWh, r.MaxKWh); err != nil {
		return err
	}
	if err := checkRange("current", r.MinCurrent, r.MaxCurrent); err != nil {
		return err
	}
	if err := checkRange("power", r.MinPower, r.MaxPower); err != nil {
		return err
	}
	if r.MinDuration != nil && *r.MinDuration < 0 {
		return errs.Field("min_duration", "must not be negative")
	}
	if r.MaxDuration != nil && *r.MaxDuration < 0 {
		return errs.Field("max_duration", "must not be negative")
	}
	if r.MinDuration != nil && r.MaxDuration != nil && *r.MinDuration > *r.MaxDuration {
		return errs.Field("min_duration", "must not exceed max_duration")
	}
	for i, d := range r.DayOfWeek {
		if _, ok := weekdayBit(d); !ok {
			return errs.Field(fmt.Sprintf("day_of_week[%d]", i), "unknown day %q", d)
		}
	}
	switch r.Reservation {
	case "", Reservation, ReservationExpires:
	default:
		return errs.Field("reservation", "unknown reservation restriction %q", r.Reservation)
	}
	return nil
}

func checkRange(what string, lo, hi *Number) error {
	if lo != nil && lo.d.Sign() < 0 {
		return errs.Field("min_"+what, "must not be negative")
	}
	if hi != nil && hi.d.Sign() < 0 {
		return errs.Field("max_"+what, "must not be negative")
	}
	if lo != nil && hi != nil && lo.d.Cmp(hi.d) > 0 {
		return errs.Field("min_"+what, "must not exceed max_%s", what)
	}
	return nil
}

// parseHHMM reads "HH:MM" (regex ([0-1][0-9]|2[0-3]):[0-5][0-9]) as minutes after midnight.
func parseHHMM(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range [4]int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// parseDate reads "YYYY-MM-DD" (a real calendar day) as the integer YYYYMMDD.
func parseDate(s string) (int, bool) {
	if len(s) != 10 {
		return 0, false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return dateKey(t.Date()), true
}

func dateKey(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

func weekdayBit(d DayOfWeek) (uint8, bool) {
	switch d {
	case Sunday:
		return 1 << time.Sunday, true
	case Monday:
		return 1 << time.Monday, true
	case Tuesday:
		return 1 << time.Tuesday, true
	case Wednesday:
		return 1 << time.Wednesday, true
	case Thursday:
		return 1 << time.Thursday, true
	case Friday:
		return 1 << time.Friday, true
	case Saturday:
		return 1 << time.Saturday, true
	}
	return 0, false
}
