package energy

import "testing"

// FuzzParseKW: kW values from API bodies never panic the parser, and what it accepts encodes back
// to the same number of watts.
func FuzzParseKW(f *testing.F) {
	for _, s := range []string{"22", "7.4", `"11.04"`, "0.001", "0.0001", "-3", "1e2", "", `"`, "abc", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseKW(s)
		if err != nil {
			return
		}
		b, err := KW(w).MarshalJSON()
		if err != nil {
			t.Fatalf("ParseKW(%q) = %d W, which does not encode: %v", s, w, err)
		}
		back, err := ParseKW(string(b))
		if err != nil || back != w {
			t.Fatalf("ParseKW(%q) = %d W → %s → %d, %v", s, w, b, back, err)
		}
	})
}
