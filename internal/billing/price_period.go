package billing

import (
	"fmt"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

func periodField(i int, f string) string { return fmt.Sprintf("charging_periods[%d].%s", i, f) }

func overflow() error { return errs.E(errs.Invalid, "amount out of range") }

// measure reads a period's dimensions: the quantities it consumed and the current/power
// values its restrictions are checked against.
func (r *rater) measure(p *ChargingPeriod, c *pctx, q *periodQty) error {
	for _, d := range p.Dimensions {
		v := d.Volume.d
		var err error
		switch d.Type {
		case CdrEnergy:
			q.hasEnergy = true
			q.energy, err = q.energy.Add(v)
		case CdrTime:
			q.hasTime = true
			q.timeSecs, err = addHours(q.timeSecs, v)
		case CdrParkingTime:
			q.hasPark = true
			q.parkSecs, err = addHours(q.parkSecs, v)
			if err == nil {
				r.parkingTime, err = r.parkingTime.Add(v)
			}
		case CdrReservationTime:
			q.hasRes = true
			q.resSecs, err = addHours(q.resSecs, v)
		case CdrMinCurrent:
			c.minCur, c.hasMinCur = v, true
		case CdrMaxCurrent:
			c.maxCur, c.hasMaxCur = v, true
		case CdrMinPower:
			c.minPow, c.hasMinPow = v, true
		case CdrMaxPower:
			c.maxPow, c.hasMaxPow = v, true
		}
		if err != nil {
			return err
		}
	}
	// CURRENT / POWER (the period's average) stand in for a missing MIN_/MAX_ value.
	for _, d := range p.Dimensions {
		switch d.Type {
		case CdrCurrent:
			if !c.hasMinCur {
				c.minCur, c.hasMinCur = d.Volume.d, true
			}
			if !c.hasMaxCur {
				c.maxCur, c.hasMaxCur = d.Volume.d, true
			}
		case CdrPower:
			if !c.hasMinPow {
				c.minPow, c.hasMinPow = d.Volume.d, true
			}
			if !c.hasMaxPow {
				c.maxPow, c.hasMaxPow = d.Volume.d, true
			}
		}
	}
	return nil
}

// addHours adds a volume in hours as whole seconds, rounded half-up: step_size multipliers
// of time dimensions are 1 second, and an OCPI number has 4 decimals (0.36 s), so rounding
// recovers the exact seconds of e.g. 10 minutes written as 0.1667 h.
func addHours(secs int64, hours decimal.Decimal) (int64, error) {
	s, err := hours.Mul(dec3600)
	if err != nil {
		return 0, overflow()
	}
	w, _, ok := money.RoundHalfUp(s, 0).Int64(0)
	if !ok {
		return 0, overflow()
	}
	return secs + w, nil
}

// period prices one charging period.
func (r *rater) period(c *pctx, q *periodQty) error {
	session := !q.hasRes || q.hasTime || q.hasPark || q.hasEnergy
	// FLAT: a fixed price for the session, charged once (mod_tariffs, TariffDimensionType
	// FLAT "Flat fee without unit"; CDR total_fixed_cost "the cost not depending on amount of
	// time/energy used ... a start tariff"). It comes from the first element with a FLAT
	// component whose restrictions hold, at the earliest period where one does.
	if session && !r.flatDone {
		if cp := r.find(slotFlat, c, false); cp != nil {
			r.flatDone = true
			if err := r.fixed.add(cp, decOne); err != nil {
				return err
			}
		}
	}
	if q.hasRes && !r.resFlatDone {
		// total_reservation_cost: "including fixed price components" (mod_cdrs).
		if cp := r.find(slotFlat, c, true); cp != nil {
			r.resFlatDone = true
			if err := r.resFixed.add(cp, decOne); err != nil {
				return err
			}
		}
	}
	if q.energy.Sign() > 0 {
		if err := r.stepEnergy(r.find(slotEnergy, c, false), q.energy); err != nil {
			return err
		}
	}
	if q.timeSecs > 0 {
		if err := r.stepTime(&r.runs[1], &r.timeC, r.find(slotTime, c, false), q.timeSecs); err != nil {
			return err
		}
	}
	if q.parkSecs > 0 {
		if err := r.stepTime(&r.runs[2], &r.parking, r.find(slotParking, c, false), q.parkSecs); err != nil {
			return err
		}
	}
	if q.resSecs > 0 {
		// A reservation's price is the TIME component of a reservation element
		// (mod_tariffs, TariffDimensionType TIME and TariffRestrictions.reservation).
		if err := r.stepTime(&r.resRun, &r.reservation, r.find(slotTime, c, true), q.resSecs); err != nil {
			return err
		}
	}
	return nil
}

var decOne = decimal.MustNew(1, 0)

// Stepping. mod_tariffs, PriceComponent notes: "step_size SHALL only be taken into account
// for the last TariffElement and when switching to another TariffElement for the
// PriceComponents that is not in the new TariffElement", and the worked examples "switching
// to different Tariff Element #1/#2": the step is applied to the whole quantity billed since
// the run began ("we bill a total charging duration of 15 minutes. When considering the
// already billed 5 minutes ... we are left with 10 minutes to bill after 17:00"), and the
// rounded-up remainder is billed at the price of the last element. A run ends at the end of
// the session or when a period consumes the dimension but no element prices it (the
// "switching to Free-of-Charge Tariff Element" example).

func (r *rater) stepEnergy(cp *comp, kwh decimal.Decimal) error {
	ru := &r.runs[0]
	if cp == nil {
		return r.closeRun(0, ru)
	}
	var err error
	ru.active, ru.last = true, *cp
	if ru.qty, err = ru.qty.Add(kwh); err != nil {
		return overflow()
	}
	return r.energy.add(cp, kwh)
}

func (r *rater) stepTime(ru *run, a *acc, cp *comp, secs int64) error {
	if cp == nil {
		return closeTimeRun(ru, a)
	}
	ru.active, ru.last = true, *cp
	ru.secs += secs
	return a.add(cp, decimal.MustNew(secs, 0))
}

func (r *rater) closeRun(k int, ru *run) error {
	switch k {
	case 0:
		return closeEnergyRun(ru, &r.energy)
	case 1:
		return closeTimeRun(ru, &r.timeC)
	default:
		return closeTimeRun(ru, &r.parking)
	}
}

func (r *rater) closeResRun() error { return closeTimeRun(&r.resRun, &r.reservation) }

// closeEnergyRun bills the Wh between the run's energy and the next multiple of step_size
// (energy step multiplier: 1 Wh) at the last element's price.
func closeEnergyRun(ru *run, a *acc) error {
	if !ru.active {
		return nil
	}
	last, qty := ru.last, ru.qty
	*ru = run{}
	wh, err := qty.Mul(dec1000)
	if err != nil {
		return overflow()
	}
	step := decimal.MustNew(last.step, 0)
	_, rem, err := wh.QuoRem(step)
	if err != nil {
		return overflow()
	}
	if rem.IsZero() {
		return nil
	}
	extraWh, err := step.Sub(rem)
	if err != nil {
		return overflow()
	}
	extra, err := extraWh.Mul(decMilli)
	if err != nil {
		return overflow()
	}
	return a.add(&last, extra)
}

// closeTimeRun bills the seconds up to the next multiple of step_size (time step
// multiplier: 1 second) at the last element's price.
func closeTimeRun(ru *run, a *acc) error {
	if !ru.active {
		return nil
	}
	last, secs := ru.last, ru.secs
	*ru = run{}
	if rem := secs % last.step; rem != 0 {
		return a.add(&last, decimal.MustNew(last.step-rem, 0))
	}
	return nil
}

// add bills q units of a component: kWh for energy, 1 for a flat fee, seconds for time
// dimensions (turned into hours once, in finish).
func (a *acc) add(c *comp, q decimal.Decimal) error {
	x, err := c.price.Mul(q)
	if err != nil {
		return overflow()
	}
	if a.excl, err = a.excl.Add(x); err != nil {
		return overflow()
	}
	if !c.vatKnown {
		// mod_tariffs PriceComponent.vat: "If omitted, no VAT is applicable. Not providing a
		// VAT is different from 0% VAT"; the "First hour free energy" example: "As no VAT
		// information is given, it is not possible to calculate total costs including VAT."
		if !x.IsZero() {
			a.inclUnknown = true
		}
		return nil
	}
	y, err := c.priceIncl.Mul(q)
	if err != nil {
		return overflow()
	}
	if a.incl, err = a.incl.Add(y); err != nil {
		return overflow()
	}
	return nil
}

func (a *acc) merge(b acc) error {
	var err error
	if a.excl, err = a.excl.Add(b.excl); err != nil {
		return overflow()
	}
	if a.incl, err = a.incl.Add(b.incl); err != nil {
		return overflow()
	}
	a.inclUnknown = a.inclUnknown || b.inclUnknown
	return nil
}

// perHour turns an accumulator of price × seconds into money.
func (a *acc) perHour() error {
	var err error
	if a.excl, err = a.excl.Quo(dec3600); err != nil {
		return overflow()
	}
	if a.incl, err = a.incl.Quo(dec3600); err != nil {
		return overflow()
	}
	return nil
}

// finish turns the unrounded sums into the reported, rounded totals.
func (r *rater) finish(cdr *CDR, t *Tariff) (Priced, error) {
	for _, a := range [...]*acc{&r.timeC, &r.parking, &r.reservation} {
		if err := a.perHour(); err != nil {
			return Priced{}, err
		}
	}
	if err := r.reservation.merge(r.resFixed); err != nil {
		return Priced{}, err
	}
	digits, _ := money.Digits(t.Currency)
	out := Priced{Currency: t.Currency}

	var sum acc
	for _, a := range [...]*acc{&r.fixed, &r.energy, &r.timeC, &r.parking, &r.reservation} {
		if err := sum.merge(*a); err != nil {
			return Priced{}, err
		}
	}
	total := clampTotal(sum, t.MinPrice, t.MaxPrice)

	out.TotalCost = rounded(total, digits)
	out.TotalFixedCost = rounded(r.fixed, digits)
	out.TotalEnergyCost = rounded(r.energy, digits)
	out.TotalTimeCost = rounded(r.timeC, digits)
	out.TotalParkingCost = rounded(r.parking, digits)
	out.TotalReservationCost = rounded(r.reservation, digits)

	out.TotalEnergy = Number{r.totalEnergy}
	out.TotalParkingTime = Number{r.parkingTime}
	// total_time: "Total duration of the charging session (including the duration of
	// charging and not charging), in hours": end_date_time − start_date_time, reported with
	// the 4 decimals of an OCPI number, half-up.
	ns := decimal.MustNew(int64(cdr.EndDateTime.Sub(cdr.StartDateTime.Time)/time.Nanosecond), 9)
	h, err := ns.Quo(dec3600)
	if err != nil {
		return Priced{}, overflow()
	}
	out.TotalTime = Number{money.RoundHalfUp(h, 4).Trim(0)}
	return out, nil
}

// clampTotal applies min_price and max_price. mod_tariffs, notes on min_price and
// max_price: "they both apply": the total excl. VAT never below min_price.excl_vat (above
// max_price.excl_vat), and the total incl. VAT never below min_price.incl_vat (above
// max_price.incl_vat). When the excl. VAT total was moved by a bound that has no incl_vat,
// the total incl. VAT is unknown and omitted.
func clampTotal(s acc, lo, hi *Amount) acc {
	out := s
	if lo != nil {
		if s.excl.Cmp(lo.ExclVat.d) < 0 {
			out.excl = lo.ExclVat.d
			if lo.InclVat == nil {
				out.inclUnknown = true
			}
		}
		if lo.InclVat != nil && !out.inclUnknown && out.incl.Cmp(lo.InclVat.d) < 0 {
			out.incl = lo.InclVat.d
		}
	}
	if hi != nil {
		if out.excl.Cmp(hi.ExclVat.d) > 0 {
			out.excl = hi.ExclVat.d
			if hi.InclVat == nil {
				out.inclUnknown = true
			}
		}
		if hi.InclVat != nil && !out.inclUnknown && out.incl.Cmp(hi.InclVat.d) > 0 {
			out.incl = hi.InclVat.d
		}
	}
	return out
}

// rounded is the one rounding of each reported amount: half-up to the currency's minor unit.
func rounded(a acc, digits int) Amount {
	p := Amount{ExclVat: Number{money.RoundHalfUp(a.excl, digits)}}
	if !a.inclUnknown {
		n := Number{money.RoundHalfUp(a.incl, digits)}
		p.InclVat = &n
	}
	return p
}
