package billing

import (
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

// Priced holds the cost fields of an OCPI 2.2.1 CDR (mod_cdrs.asciidoc, CDR object).
// Every amount is rounded half-up to the currency's minor unit, once, from unrounded
// intermediate values (DESIGN.md §4); see doc.go for how total_cost relates to the parts.
type Priced struct {
	Currency             string `json:"-"`
	TotalCost            Amount `json:"total_cost"`
	TotalFixedCost       Amount `json:"total_fixed_cost"`
	TotalEnergy          Number `json:"total_energy"`
	TotalEnergyCost      Amount `json:"total_energy_cost"`
	TotalTime            Number `json:"total_time"`
	TotalTimeCost        Amount `json:"total_time_cost"`
	TotalParkingTime     Number `json:"total_parking_time"`
	TotalParkingCost     Amount `json:"total_parking_cost"`
	TotalReservationCost Amount `json:"total_reservation_cost"`
}

// TotalMoney returns total_cost excluding VAT, and including VAT when known, as Money.
func (p Priced) TotalMoney() (excl money.Money, incl money.Money, inclKnown bool, err error) {
	excl, err = money.FromDecimal(p.TotalCost.ExclVat.d, p.Currency)
	if err != nil || p.TotalCost.InclVat == nil {
		return excl, money.Money{}, false, err
	}
	incl, err = money.FromDecimal(p.TotalCost.InclVat.d, p.Currency)
	return excl, incl, err == nil, err
}

// Component slots of a compiled element, one per TariffDimensionType.
const (
	slotEnergy = iota
	slotFlat
	slotParking
	slotTime
	nSlots
)

// comp is a price component prepared for rating.
type comp struct {
	present   bool
	vatKnown  bool
	price     decimal.Decimal // excl. VAT, per unit
	priceIncl decimal.Decimal // price × (1 + vat/100)
	step      int64           // Wh or seconds
}

// elem is a tariff element with its restrictions parsed once per Price call.
type elem struct {
	startSec, endSec   int // seconds after local midnight; -1 when absent
	startDate, endDate int // YYYYMMDD, 0 when absent; end exclusive
	days               uint8
	minDur, maxDur     int64 // nanoseconds, -1 when absent
	r                  *TariffRestrictions
	res                ReservationRestrictionType
	comps              [nSlots]comp
}

// pctx is what the restrictions are evaluated against, at the start of one period.
type pctx struct {
	sec                                        int // local seconds after midnight
	date                                       int // local YYYYMMDD
	wday                                       uint8
	elapsed                                    int64           // ns since the session's start_date_time
	energySoFar                                decimal.Decimal // kWh charged before this period
	minCur, maxCur, minPow, maxPow             decimal.Decimal
	hasMinCur, hasMaxCur, hasMinPow, hasMaxPow bool
}

// acc sums one cost category, unrounded.
type acc struct {
	excl, incl  decimal.Decimal
	inclUnknown bool
}

// run is a stretch of consecutive billed periods of one dimension (see stepping in doc.go).
type run struct {
	active bool
	last   comp            // a copy: a pointer into the elements would make them escape to the heap
	qty    decimal.Decimal // kWh for energy
	secs   int64           // seconds for time dimensions
}

var (
	dec1000  = decimal.MustNew(1000, 0)
	decMilli = decimal.MustNew(1, 3)
	dec3600  = decimal.MustNew(3600, 0)
	dec100   = decimal.MustNew(100, 0)
)

// Price rates a CDR with a tariff, computing the OCPI 2.2.1 cost fields. loc is the
// location's time zone for time-of-day, date and day-of-week restrictions (nil = UTC).
// It is pure: same input, same output. The rules, with their places in the specification,
// are listed in doc.go.
func Price(cdr CDR, t Tariff, loc *time.Location) (Priced, error) {
	if loc == nil {
		loc = time.UTC
	}
	if err := t.Validate(); err != nil {
		return Priced{}, errs.Wrap("tariff", err)
	}
	if err := cdr.Validate(); err != nil {
		return Priced{}, errs.Wrap("cdr", err)
	}
	if cdr.Currency != t.Currency {
		return Priced{}, errs.Field("currency", "CDR currency %s differs from tariff currency %s", cdr.Currency, t.Currency)
	}
	// mod_tariffs, Tariff object: start_date_time "the time when this tariff becomes active",
	// end_date_time "the time after which this tariff is no longer valid"; the driver accepts
	// the tariff valid when the session starts (note on start/end_date_time).
	if t.StartDateTime != nil && cdr.StartDateTime.Before(t.StartDateTime.Time) {
		return Priced{}, errs.Field("start_date_time", "session starts before the tariff's start_date_time")
	}
	if t.EndDateTime != nil && cdr.StartDateTime.After(t.EndDateTime.Time) {
		return Priced{}, errs.Field("start_date_time", "session starts after the tariff's end_date_time")
	}

	var buf [8]elem
	els := buf[:0]
	if len(t.Elements) > len(buf) {
		els = make([]elem, 0, len(t.Elements))
	}
	for i := range t.Elements {
		els = append(els, compile(&t.Elements[i]))
	}

	r := rater{els: els, start: cdr.StartDateTime.Time}
	if err := r.rate(&cdr, t.ID, loc); err != nil {
		return Priced{}, err
	}
	return r.finish(&cdr, &t)
}

func compile(te *TariffElement) elem {
	e := elem{startSec: -1, endSec: -1, minDur: -1, maxDur: -1, r: te.Restrictions}
	if r := te.Restrictions; r != nil {
		if m, ok := parseHHMM(r.StartTime); ok {
			e.startSec = m * 60
		}
		if m, ok := parseHHMM(r.EndTime); ok {
			e.endSec = m * 60
		}
		if r.StartDate != "" {
			e.startDate, _ = parseDate(r.StartDate)
		}
		if r.EndDate != "" {
			e.endDate, _ = parseDate(r.EndDate)
		}
		for _, d := range r.DayOfWeek {
			b, _ := weekdayBit(d)
			e.days |= b
		}
		if r.MinDuration != nil {
			e.minDur = *r.MinDuration * int64(time.Second)
		}
		if r.MaxDuration != nil {
			e.maxDur = *r.MaxDuration * int64(time.Second)
		}
		e.res = r.Reservation
	}
	for i := range te.PriceComponents {
		pc := &te.PriceComponents[i]
		var s int
		switch pc.Type {
		case DimEnergy:
			s = slotEnergy
		case DimFlat:
			s = slotFlat
		case DimParkingTime:
			s = slotParking
		default:
			s = slotTime
		}
		if e.comps[s].present {
			continue // the first component of a type in an element is the one that counts
		}
		c := comp{present: true, price: pc.Price.d, step: pc.StepSize}
		if pc.Vat != nil {
			// incl = price × (100 + vat) / 100; dividing by 100 is exact.
			f, err1 := dec100.Add(pc.Vat.d)
			p, err2 := pc.Price.d.Mul(f)
			q, err3 := p.Quo(dec100)
			if err1 == nil && err2 == nil && err3 == nil {
				c.vatKnown, c.priceIncl = true, q
			}
		}
		e.comps[s] = c
	}
	return e
}

// matches reports whether all restrictions of e hold at the start of a period.
// mod_tariffs, TariffRestrictions: start_time "valid from this time of the day", end_time
// "valid until this time of the day"; start_date valid from, end_date "valid until this day
// (exclusive)"; min_kwh "valid from this amount", max_kwh "valid until this amount";
// min_duration inclusive, max_duration exclusive; min_current/min_power active when charging
// with more, max_current/max_power active when charging with less (the max_power example
// with 16.00 and 32.00 shows the max bound is exclusive).
func (e *elem) matches(c *pctx) bool {
	if e.startSec >= 0 || e.endSec >= 0 {
		s, en := e.startSec, e.endSec
		switch {
		case s >= 0 && en >= 0 && s < en:
			if c.sec < s || c.sec >= en {
				return false
			}
		case s >= 0 && en >= 0 && s > en: // crosses midnight: 22:00–06:00
			if c.sec < s && c.sec >= en {
				return false
			}
		case s >= 0 && en >= 0: // equal: the whole day
		case s >= 0:
			if c.sec < s {
				return false
			}
		default:
			if c.sec >= en {
				return false
			}
		}
	}
	if e.startDate != 0 && c.date < e.startDate {
		return false
	}
	if e.endDate != 0 && c.date >= e.endDate {
		return false
	}
	if e.days != 0 && e.days&c.wday == 0 {
		return false
	}
	if e.minDur >= 0 && c.elapsed < e.minDur {
		return false
	}
	if e.maxDur >= 0 && c.elapsed >= e.maxDur {
		return false
	}
	r := e.r
	if r == nil {
		return true
	}
	if r.MinKWh != nil && c.energySoFar.Cmp(r.MinKWh.d) < 0 {
		return false
	}
	if r.MaxKWh != nil && c.energySoFar.Cmp(r.MaxKWh.d) >= 0 {
		return false
	}
	// A current or power restriction the period does not report cannot be shown to hold.
	if r.MinCurrent != nil && (!c.hasMinCur || c.minCur.Cmp(r.MinCurrent.d) < 0) {
		return false
	}
	if r.MaxCurrent != nil && (!c.hasMaxCur || c.maxCur.Cmp(r.MaxCurrent.d) >= 0) {
		return false
	}
	if r.MinPower != nil && (!c.hasMinPow || c.minPow.Cmp(r.MinPower.d) < 0) {
		return false
	}
	if r.MaxPower != nil && (!c.hasMaxPow || c.maxPow.Cmp(r.MaxPower.d) >= 0) {
		return false
	}
	return true
}

type rater struct {
	els     []elem
	start   time.Time
	expired bool // the CDR is a reservation that expired without charging

	fixed, energy, timeC, parking, reservation acc
	resFixed                                   acc // reservation FLAT, kept apart from price × seconds
	flatDone, resFlatDone                      bool
	runs                                       [3]run // energy, time, parking
	resRun                                     run

	totalEnergy decimal.Decimal
	parkingTime decimal.Decimal // hours, as reported by the CDR
}

// find returns the first element, in list order, whose restrictions hold and that has a
// component in slot s (mod_tariffs, Tariff object: "the first Tariff Element with that
// Dimension in the list with matching Tariff Restrictions will be used"). Reservation
// elements only price reservation time, and other elements only the session.
func (r *rater) find(s int, c *pctx, reservation bool) *comp {
	if reservation && r.expired {
		// mod_tariffs, ReservationRestrictionType note: for an expired reservation the
		// RESERVATION_EXPIRES element is used in preference.
		if cp := r.findRes(s, c, ReservationExpires); cp != nil {
			return cp
		}
	}
	want := ReservationRestrictionType("")
	if reservation {
		want = Reservation
	}
	return r.findRes(s, c, want)
}

func (r *rater) findRes(s int, c *pctx, want ReservationRestrictionType) *comp {
	for i := range r.els {
		e := &r.els[i]
		if e.res != want || !e.comps[s].present {
			continue
		}
		if e.matches(c) {
			return &e.comps[s]
		}
	}
	return nil
}

// periodQty is what one period consumed.
type periodQty struct {
	energy                              decimal.Decimal
	timeSecs, parkSecs, resSecs         int64
	hasTime, hasPark, hasRes, hasEnergy bool
}

// loc is a parameter, not a rater field, so that the rater (and the elements it points to)
// can stay on the stack.
func (r *rater) rate(cdr *CDR, tariffID string, loc *time.Location) error {
	r.totalEnergy = decimal.Zero
	r.parkingTime = decimal.Zero
	hasRes, charged := false, false
	for i := range cdr.ChargingPeriods {
		for _, d := range cdr.ChargingPeriods[i].Dimensions {
			switch d.Type {
			case CdrReservationTime:
				hasRes = true
			case CdrTime, CdrParkingTime:
				charged = true
			case CdrEnergy:
				if !d.Volume.d.IsZero() {
					charged = true
				}
			}
		}
	}
	r.expired = hasRes && !charged

	for i := range cdr.ChargingPeriods {
		p := &cdr.ChargingPeriods[i]
		if p.TariffID != "" && p.TariffID != tariffID {
			return errs.Field(periodField(i, "tariff_id"), "%q is not the tariff being applied (%q)", p.TariffID, tariffID)
		}
		var c pctx
		var q periodQty
		if err := r.measure(p, &c, &q); err != nil {
			return errs.Wrap("cdr", errs.Field(periodField(i, "dimensions"), "%s", errs.Message(err)))
		}
		lt := p.StartDateTime.In(loc)
		h, m, s := lt.Clock()
		c.sec = h*3600 + m*60 + s
		c.date = dateKey(lt.Date())
		c.wday = 1 << lt.Weekday()
		c.elapsed = int64(p.StartDateTime.Sub(r.start))
		c.energySoFar = r.totalEnergy
		if err := r.period(&c, &q); err != nil {
			return err
		}
		te, err := r.totalEnergy.Add(q.energy)
		if err != nil {
			return overflow()
		}
		r.totalEnergy = te
	}
	for k := range r.runs {
		if err := r.closeRun(k, &r.runs[k]); err != nil {
			return err
		}
	}
	return r.closeResRun()
}
