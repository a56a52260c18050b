package app

import (
	"testing"

	"github.com/evcs/evcs/internal/asset"
)

// FuzzMergeInput: any PATCH body is merged into a record's input or refused with an error;
// never a panic, and a refused body names what was wrong.
func FuzzMergeInput(f *testing.F) {
	for _, seed := range []string{`{"name":"x"}`, `{"grid_limit_kw":null}`, `{"address":{"city":"U"}}`, `{"nam":1}`, `[]`, `null`, `{"grid_limit_kw":1.0001}`, `{"address":"x"}`, `{"time_zone":{}}`} {
		f.Add([]byte(seed))
	}
	cur := asset.SiteFields{Name: "S", TimeZone: "UTC", Address: &asset.Address{City: "A"}}
	f.Fuzz(func(t *testing.T, patch []byte) {
		if _, err := mergeInput(cur, patch); err != nil && err.Error() == "" {
			t.Fatal("an error without a message")
		}
	})
}
