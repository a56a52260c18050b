// Package energy holds exact energy and power values: Wh and W as integers.
package energy

import (
	"strconv"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
)

// Wh is energy in watt-hours.
type Wh int64

// W is power in watts.
type W int64

// KW is power carried in W but written in JSON as a decimal number of kilowatts ("grid_limit_kw": 150.5).
// Up to 3 fraction digits (whole watts) are accepted; more is refused rather than rounded.
type KW W

// MarshalJSON writes the kilowatts as an exact decimal number.
func (k KW) MarshalJSON() ([]byte, error) {
	d, _ := decimal.New(int64(k), 3)
	return []byte(d.Trim(0).String()), nil
}

// UnmarshalJSON reads a JSON number of kilowatts exactly.
func (k *KW) UnmarshalJSON(b []byte) error {
	w, err := ParseKW(string(b))
	if err != nil {
		return err
	}
	*k = KW(w)
	return nil
}

// ParseKW parses a decimal kW string into W.
func ParseKW(s string) (W, error) {
	if len(s) >= 2 && s[0] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
	}
	d, err := decimal.Parse(s)
	if err != nil {
		return 0, errs.E(errs.Invalid, "%q is not a number of kW", s)
	}
	d = d.Trim(0)
	if d.Scale() > 3 {
		return 0, errs.E(errs.Invalid, "%s kW is more precise than a watt", s)
	}
	w, err := d.Mul(decimal.Thousand)
	if err != nil {
		return 0, errs.E(errs.Invalid, "%s kW is out of range", s)
	}
	whole, _, ok := w.Int64(0)
	if !ok {
		return 0, errs.E(errs.Invalid, "%s kW is out of range", s)
	}
	return W(whole), nil
}
