package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// UserInput is what a client writes for a user. A purchaser gets a prepaid account in
// Currency (default EUR) when created.
type UserInput struct {
	account.UserFields
	Currency string `json:"currency,omitempty" doc:"purchasers: currency of the prepaid account (ISO 4217), default EUR" maxLength:"3"`
	Password string `json:"password,omitempty" doc:"console login password; write-only" maxLength:"200"`
}

// DefaultCurrency is used for purchasers' accounts when none is given.
const DefaultCurrency = "EUR"

// Users is the user resource (purchasers and staff).
var Users = &Resource[account.User, UserInput]{
	Name: "user", Prefix: "usr", WriteRole: account.RoleOperator,
	Repo:  func(tx store.Tx) store.Repo[account.User] { return tx.Users() },
	Input: func(v *account.User) UserInput { return UserInput{UserFields: v.UserFields} },
	Meta:  func(v *account.User) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in UserInput, old *account.User, id string, now time.Time) (*account.User, error) {
		in.Email = strings.TrimSpace(in.Email)
		if err := account.CheckUser(in.UserFields); err != nil {
			return nil, err
		}
		// Only admins make or change staff; operators manage purchasers.
		if in.Role != account.RolePurchaser || (old != nil && old.Role != account.RolePurchaser) {
			if err := require(ctx, account.RoleAdmin); err != nil {
				return nil, errs.Field("role", "only an admin manages staff users")
			}
		}
		if old != nil && old.Role == account.RolePurchaser && in.Role != account.RolePurchaser {
			return nil, errs.Field("role", "a purchaser cannot become staff (their account and bills stay theirs)")
		}
		if old != nil && in.Role == account.RolePurchaser && old.Role != account.RolePurchaser {
			return nil, errs.Field("role", "staff cannot become a purchaser; create a purchaser")
		}
		if old == nil || old.Email != in.Email {
			if err := mustBeFree(ctx, tx.Users(), map[string]string{"email": in.Email}, "email"); err != nil {
				return nil, err
			}
		}
		if old == nil && in.Role == account.RolePurchaser {
			if in.Currency == "" {
				in.Currency = DefaultCurrency
			}
			if err := money.CheckCurrency("currency", in.Currency); err != nil {
				return nil, err
			}
		} else if in.Currency != "" && old == nil {
			return nil, errs.Field("currency", "only purchasers have an account")
		}
		if in.GroupID != "" && in.Role != account.RolePurchaser {
			return nil, errs.Field("group_id", "only purchasers belong to purchaser groups")
		}
		v := newOrCopy(old, func() *account.User { return &account.User{ID: id, Status: account.Active, CreatedAt: now} })
		v.UserFields, v.UpdatedAt = in.UserFields, now
		if in.Password != "" {
			if len(in.Password) < 8 {
				return nil, errs.Field("password", "must be at least 8 characters")
			}
			h, err := HashSecret(in.Password)
			if err != nil {
				return nil, err
			}
			v.PasswordHash = h
		}
		if old == nil && in.Role == account.RolePurchaser {
			v.AccountID = ids.New("acc")
		}
		return v, nil
	},
	AfterCreate: func(ctx context.Context, tx store.Tx, v *account.User, in UserInput) error {
		if v.AccountID == "" {
			return nil
		}
		cur := in.Currency
		if cur == "" {
			cur = DefaultCurrency
		}
		a := account.Account{ID: v.AccountID, UserID: v.ID, Currency: cur, Status: account.Active, CreatedAt: v.CreatedAt, UpdatedAt: v.CreatedAt}
		return tx.Accounts().Create(ctx, &a)
	},
}

// Accounts is the prepaid-account resource. Accounts are created with their purchaser; the API
// reads them and lets an admin set the credit limit.
var Accounts = &Resource[account.Account, AccountInput]{
	Name: "account", Prefix: "acc", WriteRole: account.RoleAdmin,
	Repo: func(tx store.Tx) store.Repo[account.Account] { return tx.Accounts() },
	Input: func(v *account.Account) AccountInput {
		return AccountInput{CreditLimit: money.FormatMinor(v.CreditLimit, v.Currency)}
	},
	Meta: func(v *account.Account) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in AccountInput, old *account.Account, id string, now time.Time) (*account.Account, error) {
		if old == nil {
			return nil, errs.E(errs.Invalid, "accounts are created with their purchaser (POST /api/v1/users)")
		}
		m, err := money.Parse(in.CreditLimit, old.Currency)
		if err != nil {
			return nil, errs.Field("credit_limit", "%s", errs.Message(err))
		}
		if m.Minor < 0 {
			return nil, errs.Field("credit_limit", "must not be negative")
		}
		v := *old
		v.CreditLimit, v.UpdatedAt = m.Minor, now
		return &v, nil
	},
}

// AccountInput is what an admin may change on an account.
type AccountInput struct {
	CreditLimit string `json:"credit_limit" doc:"how far the balance may go below zero, in the account's currency"`
}

// AccountView is an account with its balance.
type AccountView struct {
	account.Account
	Balance money.Money
}

// GetAccount reads an account and its balance (the sum of its ledger entries).
func (a *App) GetAccount(ctx context.Context, id string) (*AccountView, error) {
	var out *AccountView
	err := a.Store.View(ctx, func(tx store.Tx) error {
		acc, err := tx.Accounts().Get(ctx, id)
		if err == nil {
			err = CheckOwn(ctx, "account", id, acc)
		}
		if err != nil {
			return hideFromPurchaser(ctx, "account", id, err)
		}
		bal, err := tx.Balance(ctx, id)
		if err != nil {
			return err
		}
		out = &AccountView{Account: *acc, Balance: money.New(bal, acc.Currency)}
		return nil
	})
	return out, err
}

// IdTokens is the id-token resource (RFID cards, app tokens, …).
var IdTokens = &Resource[account.IdToken, account.IdTokenFields]{
	Name: "id_token", Prefix: "tok", WriteRole: account.RoleOperator, SelfService: selfIdToken,
	Repo:  func(tx store.Tx) store.Repo[account.IdToken] { return tx.IdTokens() },
	Input: func(v *account.IdToken) account.IdTokenFields { return v.IdTokenFields },
	Meta:  func(v *account.IdToken) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in account.IdTokenFields, old *account.IdToken, id string, now time.Time) (*account.IdToken, error) {
		if in.Status == "" {
			in.Status = account.Active
		}
		if err := account.CheckIdToken(in); err != nil {
			return nil, err
		}
		if err := mustTariff(ctx, tx, "tariff_id", in.TariffID); err != nil {
			return nil, err
		}
		if _, err := mustExist(ctx, tx.Accounts(), "account_id", in.AccountID); err != nil {
			return nil, err
		}
		if old == nil || old.UID != in.UID {
			if err := mustBeFree(ctx, tx.IdTokens(), map[string]string{"uid": in.UID}, "uid"); err != nil {
				return nil, err
			}
		}
		v := newOrCopy(old, func() *account.IdToken { return &account.IdToken{ID: id, CreatedAt: now} })
		v.IdTokenFields, v.UpdatedAt = in, now
		return v, nil
	},
}

// Vehicles is the vehicle resource.
var Vehicles = &Resource[account.Vehicle, account.VehicleFields]{
	Name: "vehicle", Prefix: "veh", WriteRole: account.RoleOperator, SelfService: selfVehicle,
	Repo:  func(tx store.Tx) store.Repo[account.Vehicle] { return tx.Vehicles() },
	Input: func(v *account.Vehicle) account.VehicleFields { return v.VehicleFields },
	Meta:  func(v *account.Vehicle) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in account.VehicleFields, old *account.Vehicle, id string, now time.Time) (*account.Vehicle, error) {
		in.VIN = strings.ToUpper(strings.TrimSpace(in.VIN))
		if err := account.CheckVehicle(in, asset.ConnectorTypes); err != nil {
			return nil, err
		}
		owner, err := mustExist(ctx, tx.Users(), "owner_id", in.OwnerID)
		if err != nil {
			return nil, err
		}
		if owner.Role != account.RolePurchaser {
			return nil, errs.Field("owner_id", "vehicles belong to purchasers; %s is %s", owner.ID, owner.Role)
		}
		if in.VIN != "" && (old == nil || old.VIN != in.VIN) {
			if err := mustBeFree(ctx, tx.Vehicles(), map[string]string{"vin": in.VIN}, "vin"); err != nil {
				return nil, err
			}
		}
		v := newOrCopy(old, func() *account.Vehicle { return &account.Vehicle{ID: id, Status: account.Active, CreatedAt: now} })
		v.VehicleFields, v.UpdatedAt = in, now
		return v, nil
	},
}

// APITokenInput creates an API token.
type APITokenInput struct {
	UserID    string     `json:"user_id,omitempty" doc:"owner; default: the caller"`
	Name      string     `json:"name" minLength:"1" maxLength:"100"`
	Role      string     `json:"role,omitempty" enum:"purchaser,viewer,operator,admin" doc:"at most the owner's role; default the owner's role. A purchaser's token is a purchaser's: it reaches their own account, sessions, receipts, invoices, tokens and vehicles only"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Scopes    []string   `json:"scopes,omitempty" doc:"narrow the token below its role: AREA, AREA:read, * or *:read, AREA being the first path segment after /api/v1 (stations, sessions, …); none = the whole role"`
}

// NewAPIToken creates a token and returns it with its one-time plain value.
func (a *App) NewAPIToken(ctx context.Context, in APITokenInput) (*account.APIToken, string, error) {
	if err := require(ctx, account.RoleAdmin); err != nil {
		return nil, "", errs.Wrap("create API token", err)
	}
	if in.UserID == "" {
		in.UserID = ActorFrom(ctx).UserID
	}
	var out *account.APIToken
	var plain string
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := mustExist(ctx, tx.Users(), "user_id", in.UserID)
		if err != nil {
			return err
		}
		role := in.Role
		if role == "" {
			role = u.Role
		}
		switch {
		case u.Role == account.RolePurchaser:
			if role != account.RolePurchaser {
				return errs.Field("role", "a purchaser's token has the purchaser role")
			}
		case account.RoleRank(role) == 0 || account.RoleRank(role) > account.RoleRank(u.Role):
			return errs.Field("role", "must be viewer, operator or admin, and at most the user's role (%s)", u.Role)
		}
		now := a.now()
		if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
			return errs.Field("expires_at", "must be in the future")
		}
		if err := CheckScopes(in.Scopes, ActorFrom(ctx).Scopes); err != nil {
			return err
		}
		plain = NewTokenValue()
		t := account.APIToken{ID: ids.New("key"), UserID: u.ID, Name: in.Name, Role: role, Hash: tokenHash(plain), ExpiresAt: in.ExpiresAt, Scopes: in.Scopes, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		if err := tx.APITokens().Create(ctx, &t); err != nil {
			return err
		}
		out = &t
		return a.record(ctx, tx, "create", "api_token", t.ID, nil, t)
	})
	return out, plain, errs.Wrap("create API token", err)
}

// APITokens is the API-token resource (list and revoke; create through NewAPIToken).
var APITokens = &Resource[account.APIToken, struct{}]{
	Name: "api_token", Prefix: "key", WriteRole: account.RoleAdmin,
	Repo:  func(tx store.Tx) store.Repo[account.APIToken] { return tx.APITokens() },
	Input: func(v *account.APIToken) struct{} { return struct{}{} },
	Meta:  func(v *account.APIToken) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	Build: func(ctx context.Context, tx store.Tx, in struct{}, old *account.APIToken, id string, now time.Time) (*account.APIToken, error) {
		return nil, errs.E(errs.Invalid, "API tokens cannot be edited; revoke and create another")
	},
}

// NewTokenValue returns a fresh random API token.
func NewTokenValue() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "evcs_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Authenticate resolves a bearer token to its actor.
func (a *App) Authenticate(ctx context.Context, bearer string) (Actor, error) {
	if bearer == "" {
		return Actor{}, errs.E(errs.Unauthorized, "missing bearer token")
	}
	var act Actor
	err := a.Store.View(ctx, func(tx store.Tx) error {
		t, err := tx.APITokens().GetBy(ctx, "secret", tokenHash(bearer))
		if errs.Is(err, errs.NotFound) {
			return errs.E(errs.Unauthorized, "invalid token")
		}
		if err != nil {
			return err
		}
		if t.Status != account.Active {
			return errs.E(errs.Unauthorized, "token revoked")
		}
		if t.ExpiresAt != nil && !t.ExpiresAt.After(a.now()) {
			return errs.E(errs.Unauthorized, "token expired")
		}
		u, err := tx.Users().Get(ctx, t.UserID)
		if err != nil {
			return err
		}
		if u.Status != account.Active {
			return errs.E(errs.Unauthorized, "user inactive")
		}
		role := t.Role
		if account.RoleRank(u.Role) < account.RoleRank(role) {
			role = u.Role
		}
		if u.Role == account.RolePurchaser {
			role = account.RolePurchaser // acts on their own account only
		}
		act = Actor{UserID: u.ID, Role: role, Scopes: t.Scopes, AccountID: u.AccountID}
		return nil
	})
	return act, err
}

// EnsureAdminToken makes sure token (EVCS_ADMIN_TOKEN) is a valid admin API token, creating the
// bootstrap admin user when needed. It is idempotent across restarts.
func (a *App) EnsureAdminToken(ctx context.Context, token string) error {
	if len(token) < 16 {
		return errs.E(errs.Invalid, "EVCS_ADMIN_TOKEN must be at least 16 characters")
	}
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		h := tokenHash(token)
		if t, err := tx.APITokens().GetBy(ctx, "secret", h); err == nil {
			if t.Status != account.Active {
				t.Status, t.UpdatedAt = account.Active, a.now()
				return tx.APITokens().Update(ctx, t)
			}
			return nil
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		now := a.now()
		u, err := tx.Users().GetBy(ctx, "email", "admin@evcs.local")
		if errs.Is(err, errs.NotFound) {
			u = &account.User{ID: ids.New("usr"), UserFields: account.UserFields{Name: "Administrator", Email: "admin@evcs.local", Role: account.RoleAdmin}, Status: account.Active, CreatedAt: now, UpdatedAt: now}
			if err := tx.Users().Create(ctx, u); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		t := account.APIToken{ID: ids.New("key"), UserID: u.ID, Name: "EVCS_ADMIN_TOKEN", Role: account.RoleAdmin, Hash: h, Status: account.Active, CreatedAt: now, UpdatedAt: now}
		if err := tx.APITokens().Create(ctx, &t); err != nil {
			return err
		}
		return a.record(WithActor(ctx, System), tx, "create", "api_token", t.ID, nil, t)
	})
}

// Groups is the purchaser-group resource. Its id is the group_id purchasers carry.
var Groups = &Resource[account.Group, account.GroupFields]{
	Name: "purchaser_group", WriteRole: account.RoleOperator,
	Repo:    func(tx store.Tx) store.Repo[account.Group] { return tx.Groups() },
	Input:   func(v *account.Group) account.GroupFields { return v.GroupFields },
	Meta:    func(v *account.Group) (*string, *string, *time.Time) { return &v.ID, &v.Status, &v.UpdatedAt },
	InputID: func(in account.GroupFields) string { return in.ID },
	Build: func(ctx context.Context, tx store.Tx, in account.GroupFields, old *account.Group, id string, now time.Time) (*account.Group, error) {
		if old == nil && (strings.TrimSpace(in.ID) == "" || len(in.ID) > 64) {
			return nil, errs.Field("id", "is required (1 to 64 characters): the group_id purchasers carry")
		}
		if old != nil && in.ID != "" && in.ID != old.ID {
			return nil, errs.Field("id", "the id of a group cannot change")
		}
		if strings.TrimSpace(in.Name) == "" {
			return nil, errs.Field("name", "is required")
		}
		if err := mustTariff(ctx, tx, "tariff_id", in.TariffID); err != nil {
			return nil, err
		}
		v := newOrCopy(old, func() *account.Group { return &account.Group{Status: account.Active, CreatedAt: now} })
		v.GroupFields, v.ID, v.UpdatedAt = in, id, now
		return v, nil
	},
}

// ---- purchaser self-service ----
//
// A purchaser acts on their own records only: their account (Actor.AccountID), its top-ups,
// id tokens and sessions, and the vehicles they own (Actor.UserID). Anything of another
// purchaser answers NotFound, exactly as a record that does not exist, so a purchaser never
// learns that another's record exists. Staff are checked by role as before.

// purchaser returns the actor when it is a purchaser acting for themselves.
func purchaser(ctx context.Context) (Actor, bool) {
	a := ActorFrom(ctx)
	return a, a.Role == account.RolePurchaser
}

// IsPurchaser reports whether ctx's actor is a purchaser (acting on their own records only).
func IsPurchaser(ctx context.Context) bool { _, ok := purchaser(ctx); return ok }

// notFound is the answer to a purchaser about another's record.
func notFound(entity, id string) error { return errs.E(errs.NotFound, "no %s %s", entity, id) }

// ownsAccount reports whether the purchaser a owns the account.
func (a Actor) ownsAccount(accountID string) bool {
	return a.AccountID != "" && accountID == a.AccountID
}

// requireOwnAccount lets staff with at least role act on any account, and a purchaser on
// their own account only (NotFound otherwise).
func requireOwnAccount(ctx context.Context, role, accountID string) error {
	if p, ok := purchaser(ctx); ok {
		if !p.ownsAccount(accountID) {
			return notFound("account", accountID)
		}
		return nil
	}
	return require(ctx, role)
}

// mayTopUp: operators top up any account; a purchaser tops up their own account, and only by
// a method whose provider collects the money (a card), never by one that records money the
// operator says it received (counter, card terminal, bank transfer, voucher).
func (a *App) mayTopUp(ctx context.Context, accountID, method string) error {
	if err := requireOwnAccount(ctx, account.RoleOperator, accountID); err != nil {
		return err
	}
	if !IsPurchaser(ctx) {
		return nil
	}
	if p, ok := a.PaymentProviderFor(method); ok {
		if _, counter := p.(CounterProvider); !counter {
			return nil
		}
	}
	return errs.Field("method", "%q is not a method purchasers can top up with themselves", method)
}

// ownerOf says whose a record is: the account and/or user it belongs to; ok is false for
// records that belong to no purchaser (sites, stations, tariffs, …).
func ownerOf(v any) (accountID, userID string, ok bool) {
	switch x := v.(type) {
	case *account.IdToken:
		return x.AccountID, "", true
	case *account.Vehicle:
		return "", x.OwnerID, true
	case *account.Account:
		return x.ID, x.UserID, true
	case *account.User:
		return x.AccountID, x.ID, true
	case *charging.Session:
		return x.AccountID, "", true
	case *billing.CDRRecord:
		return x.AccountID, "", true
	case *billing.Invoice:
		return x.AccountID, "", true
	}
	return "", "", false
}

// ownedBy reports whether a purchaser owns v.
func ownedBy(p Actor, v any) bool {
	acc, user, ok := ownerOf(v)
	if !ok {
		return false
	}
	if user != "" {
		return p.UserID != "" && user == p.UserID
	}
	return p.ownsAccount(acc)
}

// ownFilter is the list filter that narrows a list of T to a purchaser's own records (nil: T
// is no purchaser's record).
func ownFilter[T any](p Actor) map[string]string {
	switch any(new(T)).(type) {
	case *account.IdToken, *charging.Session, *billing.CDRRecord, *billing.Invoice:
		return map[string]string{"account_id": p.AccountID}
	case *account.Vehicle:
		return map[string]string{"owner_id": p.UserID}
	case *account.Account:
		return map[string]string{"user_id": p.UserID}
	}
	return nil
}

// hideFromPurchaser makes a purchaser's NotFound about entity id read the same whether the
// record is missing or another's.
func hideFromPurchaser(ctx context.Context, entity, id string, err error) error {
	if errs.Is(err, errs.NotFound) && IsPurchaser(ctx) {
		return notFound(entity, id)
	}
	return err
}

// CheckOwn answers NotFound when ctx's actor is a purchaser and v is not theirs (id names v
// in the error); staff pass. Edges that read records themselves use it.
func CheckOwn(ctx context.Context, entity, id string, v any) error {
	if p, ok := purchaser(ctx); ok && !ownedBy(p, v) {
		return notFound(entity, id)
	}
	return nil
}

// selfIdToken is what a purchaser may write on a token: one of their own account, without
// the staff fields (driver tariff, group, expiry), blocked or active (a token the operator
// deactivated stays so).
func selfIdToken(ctx context.Context, in account.IdTokenFields, old *account.IdToken) error {
	p, _ := purchaser(ctx)
	if !p.ownsAccount(in.AccountID) {
		return notFound("account", in.AccountID)
	}
	var was account.IdTokenFields
	if old != nil {
		was = old.IdTokenFields
	}
	if in.TariffID != was.TariffID {
		return errs.Field("tariff_id", "is set by the operator")
	}
	if in.GroupID != was.GroupID {
		return errs.Field("group_id", "is set by the operator")
	}
	if !sameTime(in.ExpiresAt, was.ExpiresAt) {
		return errs.Field("expires_at", "is set by the operator")
	}
	if in.Status != was.Status && (was.Status == account.Inactive || (in.Status != "" && in.Status != account.Active && in.Status != account.Blocked)) {
		return errs.Field("status", "purchasers block and unblock their active tokens")
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// selfVehicle is what a purchaser may write on a vehicle: one they own.
func selfVehicle(ctx context.Context, in account.VehicleFields, old *account.Vehicle) error {
	p, _ := purchaser(ctx)
	if p.UserID == "" || in.OwnerID != p.UserID {
		return notFound("user", in.OwnerID)
	}
	return nil
}
