package money

import "testing"

// FuzzParse: Parse never panics, and what it accepts formats back to an amount it reads the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"12.34", "0", "-0.01", " 5 ", "1e3", "12.345", "abc", "", "99999999999999999999", "0.1", "-", "1.", ".5"} {
		f.Add(s, "EUR")
	}
	f.Add("100", "JPY")
	f.Add("1.234", "KWD")
	f.Add("1", "XXX")
	f.Fuzz(func(t *testing.T, s, cur string) {
		m, err := Parse(s, cur)
		if err != nil {
			return
		}
		back, err := Parse(FormatMinor(m.Minor, m.Currency), m.Currency)
		if err != nil || back != m {
			t.Fatalf("Parse(%q) = %v; formatted %q reads %v, %v", s, m, FormatMinor(m.Minor, m.Currency), back, err)
		}
	})
}
