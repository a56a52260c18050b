package account

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/errs"
)

// Roles lists every role.
var Roles = []string{RolePurchaser, RoleViewer, RoleOperator, RoleAdmin}

// CheckUser validates a user's fields.
func CheckUser(f UserFields) error {
	if strings.TrimSpace(f.Name) == "" {
		return errs.Field("name", "is required")
	}
	if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email {
		return errs.Field("email", "%q is not an e-mail address", f.Email)
	}
	if !slices.Contains(Roles, f.Role) {
		return errs.Field("role", "must be one of %s", strings.Join(Roles, ", "))
	}
	return nil
}

// CheckIdToken validates an id token's fields.
func CheckIdToken(f IdTokenFields) error {
	if strings.TrimSpace(f.UID) == "" || len(f.UID) > 36 {
		return errs.Field("uid", "must be 1 to 36 characters")
	}
	if !slices.Contains(TokenTypes, f.Type) {
		return errs.Field("type", "must be one of %s", strings.Join(TokenTypes, ", "))
	}
	switch f.Status {
	case Active, Blocked, Inactive:
	default:
		return errs.Field("status", "must be active, blocked or inactive")
	}
	return nil
}

// vinChars are the characters a VIN may contain (ISO 3779: no I, O, Q).
const vinChars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

// CheckVehicle validates a vehicle's fields.
func CheckVehicle(f VehicleFields, connectorTypes []string) error {
	if f.VIN != "" {
		if len(f.VIN) != 17 || strings.Trim(f.VIN, vinChars) != "" {
			return errs.Field("vin", "must be 17 characters of A-Z (no I, O, Q) and 0-9")
		}
	}
	if f.VIN == "" && f.Plate == "" {
		return errs.Field("plate", "a vehicle needs a VIN or a plate")
	}
	if f.BatteryWh < 0 {
		return errs.Field("battery_capacity_wh", "must not be negative")
	}
	if f.MaxACKW != nil && *f.MaxACKW < 0 {
		return errs.Field("max_ac_kw", "must not be negative")
	}
	if f.MaxDCKW != nil && *f.MaxDCKW < 0 {
		return errs.Field("max_dc_kw", "must not be negative")
	}
	for i, c := range f.ConnectorTypes {
		if !slices.Contains(connectorTypes, c) {
			return errs.Field("connector_types["+itoa(i)+"]", "%q is not a connector type", c)
		}
	}
	if f.MinSoCPct < 0 || f.MinSoCPct > 100 {
		return errs.Field("min_soc_pct", "must be 0 to 100")
	}
	return nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// Authorization answers, version-neutral (OCPP 2.x names; the 1.6 edge maps them).
const (
	AuthAccepted = "Accepted"
	AuthBlocked  = "Blocked"
	AuthExpired  = "Expired"
	AuthInvalid  = "Invalid"
	AuthNoCredit = "NoCredit"
	AuthUnknown  = "Unknown"
)

// TokenStatus decides whether a token may charge: it must be active and unexpired, its account
// active, and a prepaid balance above the minimum (the credit limit lets it go below zero).
// tok nil means the token is not known.
func TokenStatus(tok *IdToken, acc *Account, balance, minBalance int64, now time.Time) string {
	switch {
	case tok == nil:
		return AuthUnknown
	case tok.Status == Blocked:
		return AuthBlocked
	case tok.Status != Active:
		return AuthInvalid
	case tok.ExpiresAt != nil && !tok.ExpiresAt.After(now):
		return AuthExpired
	case acc == nil || acc.Status != Active:
		return AuthBlocked
	case balance+acc.CreditLimit <= minBalance:
		return AuthNoCredit
	}
	return AuthAccepted
}
