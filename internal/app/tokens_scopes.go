package app

import (
	"strings"

	"github.com/evcs/evcs/internal/errs"
)

// API token scopes narrow what a token may do below its role; they never widen it. A token
// without scopes may do everything its role allows (tokens made before scopes existed keep
// working). Each scope is
//
//	AREA        every operation under /api/v1/AREA (e.g. "stations", "sessions", "accounts")
//	AREA:read   only the reading operations (GET) under /api/v1/AREA
//	*           every area (the same as no scopes)
//	*:read      read-only everywhere
//
// An area is the first path segment after /api/v1. A token for a billing export might have
// ["sessions:read", "cdrs:read"]; a token for a station integrator ["stations"]; a dashboard
// ["*:read"]. Unknown areas are accepted (future resources) and simply match nothing yet.
const maxScopes = 32

// CheckScopes validates a new token's scopes (field "scopes"). A caller whose own token is
// scoped (callerScopes) may only create tokens within its scopes, so a narrow token cannot mint
// a wider one.
func CheckScopes(scopes, callerScopes []string) error {
	if len(callerScopes) > 0 {
		if len(scopes) == 0 {
			return errs.Field("scopes", "a scoped token may only create tokens within its own scopes %v", callerScopes)
		}
		for _, s := range scopes {
			area, ro := strings.CutSuffix(s, ":read")
			if !ScopeAllows(callerScopes, area, ro) { // "*" is only within "*"
				return errs.Field("scopes", "%q is beyond the caller's scopes %v", s, callerScopes)
			}
		}
	}
	if len(scopes) > maxScopes {
		return errs.Field("scopes", "at most %d scopes", maxScopes)
	}
	for _, s := range scopes {
		area, _ := strings.CutSuffix(s, ":read")
		if area == "*" {
			continue
		}
		if !validArea(area) {
			return errs.Field("scopes", "%q is not a scope: use AREA, AREA:read, * or *:read (AREA like stations, sessions)", s)
		}
	}
	return nil
}

func validArea(a string) bool {
	if a == "" || len(a) > 40 || a[0] < 'a' || a[0] > 'z' {
		return false
	}
	for _, c := range a {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// ScopeAllows reports whether scopes let a token call an operation of area (the first path
// segment after /api/v1) that only reads (readOnly: GET) or changes something.
func ScopeAllows(scopes []string, area string, readOnly bool) bool {
	if len(scopes) == 0 {
		return true
	}
	for _, s := range scopes {
		a, ro := strings.CutSuffix(s, ":read")
		if (a == "*" || a == area) && (!ro || readOnly) {
			return true
		}
	}
	return false
}
