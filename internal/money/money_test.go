package money

import (
	"testing"

	"github.com/govalues/decimal"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in, cur string
		want    int64
		wantErr bool
	}{
		{"12.34", "EUR", 1234, false},
		{"12.3", "EUR", 1230, false},
		{"12", "EUR", 1200, false},
		{"-0.05", "EUR", -5, false},
		{"-1.5", "EUR", -150, false},
		{"12.340", "EUR", 1234, false}, // trailing zero carries no extra precision
		{"12.345", "EUR", 0, true},     // refused, not rounded
		{"100", "JPY", 100, false},
		{"1.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false},
		{"abc", "EUR", 0, true},
		{"1", "XXX", 0, true},
	}
	for _, c := range cases {
		m, err := Parse(c.in, c.cur)
		if (err != nil) != c.wantErr {
			t.Errorf("Parse(%q,%s) err=%v wantErr=%v", c.in, c.cur, err, c.wantErr)
			continue
		}
		if err == nil && m.Minor != c.want {
			t.Errorf("Parse(%q,%s)=%d want %d", c.in, c.cur, m.Minor, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		m    Money
		want string
	}{
		{New(1234, "EUR"), "12.34"}, {New(5, "EUR"), "0.05"}, {New(-5, "EUR"), "-0.05"},
		{New(0, "EUR"), "0.00"}, {New(100, "JPY"), "100"}, {New(1, "KWD"), "0.001"},
	}
	for _, c := range cases {
		if got := c.m.String(); got != c.want {
			t.Errorf("%v.String()=%q want %q", c.m, got, c.want)
		}
	}
}

func TestFromDecimalHalfUp(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"0.125", 13}, {"0.124", 12}, {"0.135", 14}, {"-0.125", -13}, {"2.5", 250}, {"0.005", 1}, {"0.0049", 0},
	}
	for _, c := range cases {
		d := decimal.MustParse(c.in)
		m, err := FromDecimal(d, "EUR")
		if err != nil || m.Minor != c.want {
			t.Errorf("FromDecimal(%s)=%d,%v want %d", c.in, m.Minor, err, c.want)
		}
	}
}
