package bulk

import (
	"context"
	"strings"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// The formats, one per kind. Columns are named as the API's fields are; a column may be left out
// of an import unless it is required, and an empty cell is an absent value. Ids are kept: a row
// with an id creates the record under that id (an export imported into an empty store keeps
// every reference between files); a row without one gets a new id.

var sitesKind = &spec[asset.Site, asset.SiteFields]{
	name: "sites", res: app.Sites,
	columns:  []string{"id", "name", "time_zone", "street", "city", "postal_code", "country", "grid_limit_kw", "default_tariff_id", "export_tariff_id", "status"},
	required: []string{"name", "time_zone"},
	fields:   map[string]string{"address.street": "street", "address.city": "city", "address.postal_code": "postal_code", "address.country": "country"},
	parse: func(c *cells) app.ImportRow[asset.SiteFields] {
		in := asset.SiteFields{Name: c.raw("name"), TimeZone: c.str("time_zone"), GridLimitKW: c.kw("grid_limit_kw"),
			DefaultTariffID: c.str("default_tariff_id"), ExportTariffID: c.str("export_tariff_id")}
		addr := asset.Address{Street: c.raw("street"), City: c.raw("city"), PostalCode: c.str("postal_code"), Country: c.str("country")}
		if addr != (asset.Address{}) {
			in.Address = &addr
		}
		return app.ImportRow[asset.SiteFields]{ID: c.str("id"), Status: c.str("status"), In: in}
	},
	format: func(v *asset.Site, _ any) []string {
		var a asset.Address
		if v.Address != nil {
			a = *v.Address
		}
		return []string{v.ID, v.Name, v.TimeZone, a.Street, a.City, a.PostalCode, a.Country, fmtKW(v.GridLimitKW), v.DefaultTariffID, v.ExportTariffID, v.Status}
	},
}

// Stations: the id is the OCPP identity. ocpp_password is write-only: an import may set it, an
// export never carries it (nor its hash), so stations imported from an export need their
// passwords set again (or come from `evcs backup`).
var stationsKind = &spec[asset.Station, app.StationInput]{
	name: "stations", res: app.Stations,
	columns:   []string{"id", "site_id", "node_id", "kind", "name", "tariff_id", "v2x", "status"},
	required:  []string{"id", "site_id"},
	writeOnly: []string{"ocpp_password"},
	parse: func(c *cells) app.ImportRow[app.StationInput] {
		in := app.StationInput{ID: c.str("id"), OCPPPassword: c.raw("ocpp_password"), StationFields: asset.StationFields{
			SiteID: c.str("site_id"), NodeID: c.str("node_id"), Kind: c.str("kind"), Name: c.raw("name"),
			TariffID: c.str("tariff_id"), V2X: c.boolean("v2x")}}
		return app.ImportRow[app.StationInput]{Status: c.str("status"), In: in}
	},
	format: func(v *asset.Station, _ any) []string {
		return []string{v.ID, v.SiteID, v.NodeID, v.Kind, v.Name, v.TariffID, fmtBool(v.V2X), v.Status}
	},
}

// Purchasers: users with role purchaser and their prepaid account (id, currency, credit limit;
// balances move only through the ledger and are not master data). password is write-only.
var purchasersKind = &spec[account.User, app.UserInput]{
	name: "purchasers", res: app.Users,
	columns:   []string{"id", "account_id", "name", "email", "phone", "group_id", "language", "currency", "credit_limit", "status"},
	required:  []string{"name", "email"},
	writeOnly: []string{"password"},
	unique:    []string{"email", "account_id"},
	filter:    map[string]string{"role": account.RolePurchaser},
	parse: func(c *cells) app.ImportRow[app.UserInput] {
		in := app.UserInput{UserFields: account.UserFields{Name: c.raw("name"), Email: c.str("email"), Phone: c.str("phone"),
			Role: account.RolePurchaser, GroupID: c.str("group_id"), Language: c.str("language")},
			Currency: strings.ToUpper(c.str("currency")), Password: c.raw("password")}
		return app.ImportRow[app.UserInput]{ID: c.str("id"), Status: c.str("status"), In: in,
			AccountID: c.str("account_id"), CreditLimit: c.str("credit_limit")}
	},
	prepare: func(ctx context.Context, tx store.Tx) (any, error) {
		accs, err := app.ListAllIn(ctx, tx, app.Accounts, nil)
		if err != nil {
			return nil, err
		}
		m := make(map[string]*account.Account, len(accs))
		for i := range accs {
			m[accs[i].ID] = &accs[i]
		}
		return m, nil
	},
	format: func(v *account.User, extra any) []string {
		cur, limit := "", ""
		if acc := extra.(map[string]*account.Account)[v.AccountID]; acc != nil {
			cur, limit = acc.Currency, money.FormatMinor(acc.CreditLimit, acc.Currency)
		}
		return []string{v.ID, v.AccountID, v.Name, v.Email, v.Phone, v.GroupID, v.Language, cur, limit, v.Status}
	},
}

// Tokens: id tokens (RFID cards, app tokens) bound to a purchaser's account.
var tokensKind = &spec[account.IdToken, account.IdTokenFields]{
	name: "tokens", res: app.IdTokens,
	columns:  []string{"id", "uid", "type", "account_id", "status", "expires_at", "group_id", "label", "tariff_id"},
	required: []string{"uid", "type", "account_id"},
	unique:   []string{"uid"},
	parse: func(c *cells) app.ImportRow[account.IdTokenFields] {
		in := account.IdTokenFields{UID: c.str("uid"), Type: c.str("type"), AccountID: c.str("account_id"), Status: c.str("status"),
			ExpiresAt: c.time("expires_at"), GroupID: c.str("group_id"), Label: c.raw("label"), TariffID: c.str("tariff_id")}
		return app.ImportRow[account.IdTokenFields]{ID: c.str("id"), In: in}
	},
	format: func(v *account.IdToken, _ any) []string {
		return []string{v.ID, v.UID, v.Type, v.AccountID, v.Status, fmtTime(v.ExpiresAt), v.GroupID, v.Label, v.TariffID}
	},
}

// Vehicles: a purchaser's vehicles; connector_types is a ';'-separated list.
var vehiclesKind = &spec[account.Vehicle, account.VehicleFields]{
	name: "vehicles", res: app.Vehicles,
	columns: []string{"id", "owner_id", "vin", "plate", "make", "model", "battery_capacity_wh", "battery_type",
		"max_ac_kw", "max_dc_kw", "connector_types", "min_soc_pct", "status"},
	required: []string{"owner_id"},
	unique:   []string{"vin"},
	parse: func(c *cells) app.ImportRow[account.VehicleFields] {
		in := account.VehicleFields{OwnerID: c.str("owner_id"), VIN: c.str("vin"), Plate: c.str("plate"), Make: c.raw("make"),
			Model: c.raw("model"), BatteryWh: c.integer("battery_capacity_wh"), BatteryType: c.str("battery_type"),
			MaxACKW: c.kw("max_ac_kw"), MaxDCKW: c.kw("max_dc_kw"), ConnectorTypes: c.list("connector_types"),
			MinSoCPct: int(c.integer("min_soc_pct"))}
		return app.ImportRow[account.VehicleFields]{ID: c.str("id"), Status: c.str("status"), In: in}
	},
	format: func(v *account.Vehicle, _ any) []string {
		return []string{v.ID, v.OwnerID, v.VIN, v.Plate, v.Make, v.Model, fmtInt(v.BatteryWh), v.BatteryType,
			fmtKW(v.MaxACKW), fmtKW(v.MaxDCKW), strings.Join(v.ConnectorTypes, ";"), fmtInt(int64(v.MinSoCPct)), v.Status}
	},
}
