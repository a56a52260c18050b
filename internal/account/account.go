// Package account holds the purchasers' side: users, prepaid accounts, id tokens, vehicles,
// and API tokens. Types and rules only; no I/O.
package account

import (
	"time"

	"github.com/evcs/evcs/internal/energy"
)

// Roles. A purchaser buys electricity; staff roles operate the system.
const (
	RolePurchaser = "purchaser"
	RoleViewer    = "viewer"
	RoleOperator  = "operator"
	RoleAdmin     = "admin"
)

// RoleRank orders staff roles: viewer < operator < admin. Purchasers rank 0 (self-service only).
func RoleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Record status.
const (
	Active   = "active"
	Inactive = "inactive"
	Blocked  = "blocked"
)

// UserFields are the writable fields of a user.
type UserFields struct {
	Name     string `json:"name" minLength:"1" maxLength:"200"`
	Email    string `json:"email" format:"email" maxLength:"254"`
	Phone    string `json:"phone,omitempty" maxLength:"40"`
	Role     string `json:"role" enum:"purchaser,operator,viewer,admin"`
	GroupID  string `json:"group_id,omitempty" doc:"purchaser group (for group tariffs and transfers)"`
	Language string `json:"language,omitempty" maxLength:"10"`
}

// User is a purchaser or a staff member.
type User struct {
	ID string `json:"id"`
	UserFields
	AccountID    string    `json:"account_id,omitempty"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	PasswordHash string    `json:"-"`
}

// Account is a purchaser's prepaid account. Its balance is the sum of its ledger entries.
type Account struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	Currency    string    `json:"currency"`
	CreditLimit int64     `json:"credit_limit_minor"` // minor units the balance may go below zero
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Id token types (OCPP 2.x IdTokenEnumType).
var TokenTypes = []string{"ISO14443", "ISO15693", "Central", "eMAID", "KeyCode", "MacAddress", "Local", "NoAuthorization"}

// IdTokenFields are the writable fields of an id token.
type IdTokenFields struct {
	UID       string     `json:"uid" minLength:"1" maxLength:"36" doc:"card UID or token value, as the station reports it"`
	Type      string     `json:"type" enum:"ISO14443,ISO15693,Central,eMAID,KeyCode,MacAddress,Local,NoAuthorization"`
	AccountID string     `json:"account_id"`
	Status    string     `json:"status,omitempty" enum:"active,blocked,inactive"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	GroupID   string     `json:"group_id,omitempty" maxLength:"36" doc:"parent id tag / group id token"`
	Label     string     `json:"label,omitempty" maxLength:"100"`
	TariffID  string     `json:"tariff_id,omitempty" doc:"driver tariff: overrides the EVSE, station and site tariffs"`
}

// IdToken is an RFID card, app token or other credential bound to an account.
type IdToken struct {
	ID string `json:"id"`
	IdTokenFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// VehicleFields are the writable fields of a vehicle.
type VehicleFields struct {
	OwnerID        string     `json:"owner_id" doc:"user id of the purchaser"`
	VIN            string     `json:"vin,omitempty" maxLength:"17"`
	Plate          string     `json:"plate,omitempty" maxLength:"20"`
	Make           string     `json:"make,omitempty" maxLength:"50"`
	Model          string     `json:"model,omitempty" maxLength:"50"`
	BatteryWh      int64      `json:"battery_capacity_wh,omitempty" minimum:"0"`
	BatteryType    string     `json:"battery_type,omitempty" maxLength:"50" doc:"swap battery type, for battery-swap vehicles"`
	MaxACKW        *energy.KW `json:"max_ac_kw,omitempty"`
	MaxDCKW        *energy.KW `json:"max_dc_kw,omitempty"`
	ConnectorTypes []string   `json:"connector_types,omitempty"`
	MinSoCPct      int        `json:"min_soc_pct,omitempty" minimum:"0" maximum:"100" doc:"V2G never discharges below this"`
}

// Vehicle is a purchaser's electric vehicle.
type Vehicle struct {
	ID string `json:"id"`
	VehicleFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// APIToken is a bearer token for the REST API. Only its hash is stored.
type APIToken struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Hash      string     `json:"-"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Scopes narrow the token below its role (see app.ScopeAllows); none = the whole role.
	Scopes    []string  `json:"scopes,omitempty"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// GroupFields are the writable fields of a purchaser group.
type GroupFields struct {
	ID       string `json:"id,omitempty" doc:"the group id purchasers carry as group_id (on create)" maxLength:"64"`
	Name     string `json:"name" minLength:"1" maxLength:"200"`
	TariffID string `json:"tariff_id,omitempty" doc:"the group's tariff: overrides EVSE, station and site tariffs for its members (a token's own tariff still wins)"`
}

// Group is a purchaser group (a fleet, a company, a residents' association).
type Group struct {
	GroupFields
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
