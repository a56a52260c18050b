// Package money holds exact money values: integer minor units of an ISO 4217 currency.
// There is no float anywhere in here; parsing refuses more precision than the currency has.
package money

import (
	"strconv"
	"strings"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
)

// Money is an amount in minor units (cents) of a currency.
type Money struct {
	Minor    int64
	Currency string
}

// minorDigits lists ISO 4217 currencies and their minor-unit digits.
var minorDigits = map[string]int{
	"AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
	"CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
	"IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MAD": 2,
	"MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PLN": 2, "QAR": 2, "RON": 2,
	"RSD": 2, "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2,
	"UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}

// Digits returns the number of minor-unit digits of a currency, and whether it is known.
func Digits(currency string) (int, bool) {
	d, ok := minorDigits[currency]
	return d, ok
}

// ValidCurrency reports whether c is a currency EVCS handles.
func ValidCurrency(c string) bool { _, ok := minorDigits[c]; return ok }

// CheckCurrency returns an Invalid error naming field when c is not a known ISO 4217 code.
func CheckCurrency(field, c string) error {
	if !ValidCurrency(c) {
		return errs.Field(field, "unknown currency %q (ISO 4217 code expected)", c)
	}
	return nil
}

// New returns minor units of a currency.
func New(minor int64, currency string) Money { return Money{Minor: minor, Currency: currency} }

// Parse reads a decimal string ("12.34") in a currency. More fraction digits than the
// currency allows is an error, never a rounding.
func Parse(s, currency string) (Money, error) {
	digits, ok := minorDigits[currency]
	if !ok {
		return Money{}, errs.Field("currency", "unknown currency %q", currency)
	}
	d, err := decimal.Parse(strings.TrimSpace(s))
	if err != nil {
		return Money{}, errs.Field("amount", "%q is not a decimal number", s)
	}
	d = d.Trim(0)
	if d.Scale() > digits {
		return Money{}, errs.Field("amount", "%q has more than %d fraction digits for %s", s, digits, currency)
	}
	whole, frac, ok := d.Rescale(digits).Int64(digits)
	if !ok {
		return Money{}, errs.Field("amount", "%q is out of range", s)
	}
	minor := whole
	for i := 0; i < digits; i++ {
		minor *= 10
	}
	if whole < 0 || frac < 0 {
		minor -= abs(frac)
	} else {
		minor += frac
	}
	return Money{Minor: minor, Currency: currency}, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// String formats the amount with the currency's minor digits, e.g. "12.34" (no currency).
func (m Money) String() string { return FormatMinor(m.Minor, m.Currency) }

// FormatMinor formats minor units as a decimal string for a currency.
func FormatMinor(minor int64, currency string) string {
	digits := minorDigits[currency]
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if digits > 0 {
		for len(s) <= digits {
			s = "0" + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Decimal returns the amount as a decimal in major units.
func (m Money) Decimal() decimal.Decimal {
	d, _ := decimal.New(m.Minor, minorDigits[m.Currency])
	return d
}

// FromDecimal rounds a decimal amount half-up (away from zero at .5) to the currency's minor unit.
// This is the one place rounding of money happens.
func FromDecimal(d decimal.Decimal, currency string) (Money, error) {
	digits, ok := minorDigits[currency]
	if !ok {
		return Money{}, errs.Field("currency", "unknown currency %q", currency)
	}
	r := RoundHalfUp(d, digits)
	whole, frac, ok := r.Int64(digits)
	if !ok {
		return Money{}, errs.E(errs.Invalid, "amount out of range")
	}
	minor := whole
	for i := 0; i < digits; i++ {
		minor *= 10
	}
	if r.Sign() < 0 {
		minor -= abs(frac)
	} else {
		minor += frac
	}
	return Money{Minor: minor, Currency: currency}, nil
}

// RoundHalfUp rounds d to scale digits, halves away from zero (commercial rounding).
func RoundHalfUp(d decimal.Decimal, scale int) decimal.Decimal {
	// govalues' Round is half-to-even; commercial rounding is half away from zero.
	if d.Scale() <= scale {
		return d.Pad(scale)
	}
	half, _ := decimal.New(5, scale+1)
	if d.Sign() < 0 {
		half = half.Neg()
	}
	s, err := d.Add(half)
	if err != nil {
		return d.Round(scale)
	}
	return s.Trunc(scale)
}

// Add returns m+o; both must be in one currency.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, errs.E(errs.Invalid, "currency mismatch: %s and %s", m.Currency, o.Currency)
	}
	return Money{Minor: m.Minor + o.Minor, Currency: m.Currency}, nil
}

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Minor == 0 }
