package swap

import (
	"strconv"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

// EnergyWh is the energy a swap gives a vehicle: the capacity of the battery it receives ×
// (its state of charge − the state of charge of the battery it hands in) / 100, rounded half-up
// to a whole Wh, and never below zero (a vehicle that hands in a fuller battery than it gets
// pays no energy, only the fee). SoC values are percentages as stations report them
// (OCPP 2.1 soC, e.g. 23.5); they are read exactly as their shortest decimal.
//
// Example: 60 000 Wh × (95 − 20.5) / 100 = 44 700 Wh.
func EnergyWh(capacityWh int64, socOutPct, socInPct float64) (int64, error) {
	out, err1 := pct(socOutPct)
	in, err2 := pct(socInPct)
	if err1 != nil || err2 != nil {
		return 0, errs.Field("soc", "state of charge must be 0 to 100")
	}
	if capacityWh <= 0 {
		return 0, errs.Field("capacity_wh", "must be positive")
	}
	diff, err := out.Sub(in)
	if err != nil || diff.Sign() <= 0 {
		return 0, err
	}
	c, _ := decimal.New(capacityWh, 0)
	wh, err := c.Mul(diff)
	if err != nil {
		return 0, errs.E(errs.Invalid, "energy out of range")
	}
	wh, err = wh.Quo(decimal.Hundred)
	if err != nil {
		return 0, errs.E(errs.Invalid, "energy out of range")
	}
	v, _, ok := money.RoundHalfUp(wh, 0).Int64(0)
	if !ok {
		return 0, errs.E(errs.Invalid, "energy out of range")
	}
	return v, nil
}

func pct(v float64) (decimal.Decimal, error) {
	d, err := decimal.Parse(strconv.FormatFloat(v, 'f', -1, 64))
	if err != nil || d.Sign() < 0 || d.Cmp(decimal.Hundred) > 0 {
		return decimal.Zero, errs.Field("soc", "must be 0 to 100")
	}
	return d, nil
}

// Bill is what a swap costs, every amount in minor units, each rounded once, half-up.
type Bill struct {
	Currency     string
	EnergyWh     int64
	EnergyExcl   int64
	EnergyIncl   int64
	FeeExcl      int64
	FeeIncl      int64
	TotalExcl    int64
	TotalIncl    int64
	InclKnown    bool  // false when a component without VAT took part (OCPI: incl. VAT unknown)
	ChargedMinor int64 // TotalIncl when known, else TotalExcl: what the account pays
	Priced       billing.Priced
}

// Price prices a swap with a station's tariff, by the OCPI rules of the billing package:
// the swap is one instant (at, in loc for time-of-use restrictions) at which energyWh is
// delivered, so the tariff's ENERGY component prices the energy (per kWh, with its step_size
// and its VAT), its FLAT component is the swap fee (charged once, with its VAT), and TIME and
// PARKING_TIME components cost nothing (a swap has no duration). min_price/max_price apply to
// the total as for a session. Everything is computed unrounded and each amount is rounded to
// the currency's minor unit once, half-up; the account is charged the total incl. VAT when it
// is known, else the total excl. VAT — the same rule as a charging session.
//
// Example (ENERGY 0.30/kWh + 21 % VAT, FLAT 2.00 + 21 % VAT, 44 700 Wh):
//
//	energy 44.7 kWh × 0.30 = 13.41 excl., × 1.21 = 16.2261 → 16.23 incl.
//	fee    2.00 excl., × 1.21 = 2.42 incl.
//	total  15.41 excl.; 18.6461 → 18.65 incl. charged
func Price(energyWh int64, t billing.Tariff, at time.Time, loc *time.Location) (Bill, error) {
	if energyWh < 0 {
		return Bill{}, errs.Field("energy_wh", "must not be negative")
	}
	kwh, _ := decimal.New(energyWh, 3)
	cdr := billing.CDR{StartDateTime: billing.DateTime{Time: at}, EndDateTime: billing.DateTime{Time: at}, Currency: t.Currency,
		ChargingPeriods: []billing.ChargingPeriod{{StartDateTime: billing.DateTime{Time: at}, TariffID: t.ID,
			Dimensions: []billing.CdrDimension{{Type: billing.CdrEnergy, Volume: billing.NewNumber(kwh)}}}}}
	p, err := billing.Price(cdr, t, loc)
	if err != nil {
		return Bill{}, errs.Wrap("price swap", err)
	}
	b := Bill{Currency: t.Currency, EnergyWh: energyWh, Priced: p}
	var known [3]bool
	for i, x := range []struct {
		a          billing.Amount
		excl, incl *int64
	}{{p.TotalEnergyCost, &b.EnergyExcl, &b.EnergyIncl}, {p.TotalFixedCost, &b.FeeExcl, &b.FeeIncl}, {p.TotalCost, &b.TotalExcl, &b.TotalIncl}} {
		m, err := money.FromDecimal(x.a.ExclVat.Decimal(), t.Currency)
		if err != nil {
			return Bill{}, err
		}
		*x.excl = m.Minor
		if x.a.InclVat != nil {
			if m, err = money.FromDecimal(x.a.InclVat.Decimal(), t.Currency); err != nil {
				return Bill{}, err
			}
			*x.incl, known[i] = m.Minor, true
		} else {
			*x.incl = *x.excl
		}
	}
	b.InclKnown = known[2]
	b.ChargedMinor = b.TotalExcl
	if b.InclKnown {
		b.ChargedMinor = b.TotalIncl
	}
	return b, nil
}
