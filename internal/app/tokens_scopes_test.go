package app

import "testing"

func TestScopeAllows(t *testing.T) {
	for _, c := range []struct {
		scopes   []string
		area     string
		readOnly bool
		want     bool
	}{
		{nil, "stations", false, true},
		{[]string{"*"}, "accounts", false, true},
		{[]string{"*:read"}, "accounts", true, true},
		{[]string{"*:read"}, "accounts", false, false},
		{[]string{"stations"}, "stations", false, true},
		{[]string{"stations"}, "sessions", true, false},
		{[]string{"sessions:read", "cdrs:read"}, "cdrs", true, true},
		{[]string{"sessions:read", "cdrs:read"}, "sessions", false, false},
	} {
		if got := ScopeAllows(c.scopes, c.area, c.readOnly); got != c.want {
			t.Errorf("ScopeAllows(%v, %q, read=%v) = %v", c.scopes, c.area, c.readOnly, got)
		}
	}
}

func TestCheckScopes(t *testing.T) {
	for _, c := range []struct {
		scopes, caller []string
		ok             bool
	}{
		{nil, nil, true},
		{[]string{"stations", "sessions:read", "*:read", "*", "api-tokens"}, nil, true},
		{[]string{"Stations"}, nil, false},
		{[]string{"stations:write"}, nil, false},
		{[]string{""}, nil, false},
		{[]string{":read"}, nil, false},
		// A scoped caller only creates tokens within its scopes.
		{nil, []string{"api-tokens"}, false},
		{[]string{"api-tokens"}, []string{"api-tokens"}, true},
		{[]string{"stations:read"}, []string{"*:read"}, true},
		{[]string{"stations"}, []string{"*:read"}, false},
		{[]string{"*"}, []string{"stations"}, false},
		{[]string{"*:read"}, []string{"stations"}, false},
	} {
		if err := CheckScopes(c.scopes, c.caller); (err == nil) != c.ok {
			t.Errorf("CheckScopes(%v, caller %v) = %v, want ok=%v", c.scopes, c.caller, err, c.ok)
		}
	}
}
