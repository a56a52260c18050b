package errs

import (
	"context"
	"testing"
)

func TestErrorText(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{E(NotFound, "station %s not found", "S1"), "station S1 not found"},
		{Field("meterStart", "must be ≥ 0"), "meterStart: must be ≥ 0"},
		{Wrap("start session", Field("idTag", "unknown")), "start session: idTag: unknown"},
		// A wrapped plain error has no message of its own: no empty part between the colons.
		{Wrap("meter values", context.Canceled), "meter values: context canceled"},
		{Wrap("stop session", Wrap("meter values", context.Canceled)), "stop session: meter values: context canceled"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
