package billing

import (
	"bytes"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
)

// Number is an exact decimal read from and written as a bare JSON number (OCPI "number").
// It never goes through float64: the JSON text is parsed digit by digit.
type Number struct{ d decimal.Decimal }

// NewNumber wraps a decimal.
func NewNumber(d decimal.Decimal) Number { return Number{d: d} }

// ParseNumber reads a decimal number ("0.25", "1e3"); more digits than fit exactly is an error.
func ParseNumber(s string) (Number, error) {
	d, err := parseExactDecimal(s)
	if err != nil {
		return Number{}, err
	}
	return Number{d: d}, nil
}

// MustNumber is ParseNumber for constants; it panics on a bad literal.
func MustNumber(s string) Number {
	n, err := ParseNumber(s)
	if err != nil {
		panic(err)
	}
	return n
}

// Decimal returns the value.
func (n Number) Decimal() decimal.Decimal { return n.d }

// String formats the number as written ("0.25"), trailing zeros kept.
func (n Number) String() string { return n.d.String() }

// MarshalJSON writes a bare JSON number: OCPI prices and volumes are numbers, not strings.
func (n Number) MarshalJSON() ([]byte, error) { return []byte(n.d.String()), nil }

// UnmarshalJSON accepts only a JSON number literal; "null" leaves the value untouched
// (as encoding/json does for its own types).
func (n *Number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] == '"' {
		return errs.E(errs.Invalid, "%s is not a JSON number", b)
	}
	d, err := parseExactDecimal(string(b))
	if err != nil {
		return err
	}
	n.d = d
	return nil
}

// parseExactDecimal parses s and refuses any rounding: a number whose digits do not all
// fit the 19-digit decimal is rejected instead of being silently changed.
func parseExactDecimal(s string) (decimal.Decimal, error) {
	d, err := decimal.Parse(s)
	if err != nil {
		return decimal.Decimal{}, errs.E(errs.Invalid, "%q is not a number that fits 19 digits", s)
	}
	if !strings.ContainsAny(s, "eE") {
		if i := strings.IndexByte(s, '.'); i >= 0 {
			frac := strings.TrimRight(s[i+1:], "0")
			if len(frac) > d.Scale() {
				return decimal.Decimal{}, errs.E(errs.Invalid, "%q has more digits than can be kept exactly", s)
			}
		}
	}
	return d, nil
}

// DateTime is an OCPI DateTime: RFC 3339; a missing zone designator means UTC (OCPI
// types.asciidoc). It is written back in UTC.
type DateTime struct{ time.Time }

const dateTimeNoZone = "2006-01-02T15:04:05.999999999"

func parseDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation(dateTimeNoZone, s, time.UTC)
	if err != nil {
		return time.Time{}, errs.E(errs.Invalid, "%q is not an RFC 3339 date-time", s)
	}
	return t, nil
}

// MarshalJSON writes RFC 3339 in UTC.
func (t DateTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON reads an OCPI DateTime string.
func (t *DateTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errs.E(errs.Invalid, "date-time must be a string")
	}
	v, err := parseDateTime(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// IsZero lets `omitzero` drop an unset DateTime.
func (t DateTime) IsZero() bool { return t.Time.IsZero() }
