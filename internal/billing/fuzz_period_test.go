package billing

import "testing"

// FuzzParsePeriod: invoice periods from URLs never panic the parser and round-trip.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-13", "0000-01", "26-1", "2026-1", "", "2026-11-01", "-2026-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		back, err := ParsePeriod(p.String())
		if err != nil || back != p {
			t.Fatalf("ParsePeriod(%q) = %v → %q → %v, %v", s, p, p.String(), back, err)
		}
	})
}
