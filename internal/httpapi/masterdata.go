package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/audit"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// Money is money on the wire: a decimal string and an ISO 4217 currency.
type Money struct {
	Amount   string `json:"amount" example:"12.34"`
	Currency string `json:"currency" example:"EUR"`
}

// MoneyOf converts an exact amount to its wire form.
func MoneyOf(m money.Money) Money { return Money{Amount: m.String(), Currency: m.Currency} }

// AccountOut is an account as the API shows it.
type AccountOut struct {
	ID          string    `json:"id"`
	UserID      string    `json:"user_id"`
	Currency    string    `json:"currency"`
	Balance     Money     `json:"balance"`
	CreditLimit Money     `json:"credit_limit"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// StationOut is a station with its live connection state.
type StationOut struct {
	asset.Station
	Connected bool `json:"connected"`
}

func stationView(a *app.App) func(context.Context, *asset.Station) (StationOut, error) {
	return func(_ context.Context, v *asset.Station) (StationOut, error) {
		out := StationOut{Station: *v}
		if a.Commander != nil {
			if p, ok := a.Commander.Connected(v.ID); ok {
				out.Connected, out.Protocol = true, p
			}
		}
		return out, nil
	}
}

// The time field and sort of lists ordered by creation (most master data).
var (
	creationTime = []string{"created_at"}
	byCreation   = listDoc{times: creationTime, sorts: creationTime}
)

func registerMasterData(api huma.API, a *app.App) {
	registerCRUD(api, a, app.Sites, crudSpec{path: "/sites", name: "site", plural: "sites", tag: "Sites", filters: []string{"name", "time_zone", "default_tariff_id"}, list: listDoc{times: creationTime, sorts: []string{"created_at", "name"}}}, same[asset.Site])
	registerCRUD(api, a, app.Nodes, crudSpec{path: "/nodes", name: "node", plural: "nodes", tag: "Power distribution", filters: []string{"site_id", "parent_id", "kind"}, list: byCreation}, same[asset.Node])
	registerCRUD(api, a, app.Stations, crudSpec{path: "/stations", name: "station", plural: "stations", tag: "Stations", filters: []string{"site_id", "node_id", "kind"}, list: byCreation}, stationView(a))
	registerCRUD(api, a, app.EVSEs, crudSpec{path: "/evses", name: "evse", plural: "evses", tag: "Stations", filters: []string{"station_id", "evse_no"}, list: byCreation}, same[asset.EVSE])
	registerCRUD(api, a, app.Connectors, crudSpec{path: "/connectors", name: "connector", plural: "connectors", tag: "Stations", filters: []string{"evse_id", "station_id", "connector_no"}, list: byCreation}, same[asset.Connector])
	registerCRUD(api, a, app.Devices, crudSpec{path: "/devices", name: "device", plural: "devices", tag: "Power quality", filters: []string{"site_id", "node_id", "kind"}, list: byCreation}, same[asset.Device])
	registerCRUD(api, a, app.Cabinets, crudSpec{path: "/cabinets", name: "cabinet", plural: "cabinets", tag: "Battery swap", filters: []string{"station_id"}, list: byCreation}, same[asset.Cabinet])
	registerCRUD(api, a, app.Batteries, crudSpec{path: "/batteries", name: "battery", plural: "batteries", tag: "Battery swap", filters: []string{"serial", "battery_type", "state", "cabinet_id"}, list: listDoc{times: creationTime, sorts: []string{"created_at", "serial"}}}, same[asset.Battery])
	registerCRUD(api, a, app.Users, crudSpec{path: "/users", name: "user", plural: "users", tag: "Purchasers and users", filters: []string{"email", "role", "group_id", "name"}, list: listDoc{times: creationTime, sorts: []string{"created_at", "name", "email"}}}, same[account.User])
	registerCRUD(api, a, app.Accounts, crudSpec{path: "/accounts", name: "account", plural: "accounts", tag: "Accounts", filters: []string{"user_id", "currency"}, noCreate: true, list: byCreation}, accountView(a))
	registerCRUD(api, a, app.IdTokens, crudSpec{path: "/id-tokens", name: "id-token", plural: "id-tokens", tag: "Id tokens", filters: []string{"uid", "account_id", "group_id"}, list: listDoc{times: creationTime, sorts: []string{"created_at", "uid"}}}, same[account.IdToken])
	registerCRUD(api, a, app.Groups, crudSpec{path: "/purchaser-groups", name: "purchaser-group", plural: "purchaser-groups", tag: "Purchasers and users", filters: []string{"name", "tariff_id"}, list: listDoc{times: creationTime, sorts: []string{"created_at", "name"}}}, same[account.Group])
	registerCRUD(api, a, app.Vehicles, crudSpec{path: "/vehicles", name: "vehicle", plural: "vehicles", tag: "Vehicles", filters: []string{"owner_id", "vin", "plate"}, list: listDoc{times: creationTime, sorts: []string{"created_at", "plate"}}}, same[account.Vehicle])
	registerCRUD(api, a, app.APITokens, crudSpec{path: "/api-tokens", name: "api-token", plural: "api-tokens", tag: "API tokens", filters: []string{"user_id"}, noCreate: true, list: byCreation}, same[account.APIToken])
	registerCRUD(api, a, auditResource, crudSpec{path: "/audit", name: "audit-event", plural: "audit-events", tag: "Audit", filters: []string{"actor", "entity", "entity_id"}, noWrite: true, list: listDoc{times: []string{"at"}, sorts: []string{"at"}}}, same[audit.Event])

	// The EVSEs of a station, nested as scripts expect.
	evsesOp := op(http.MethodGet, "/stations/{id}/evses", "list-station-evses", "List a station's EVSEs", account.RoleViewer, "Stations")
	byCreation.document(&evsesOp)
	huma.Register(api, evsesOp,
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
			ListParams
		}) (*body[Page[asset.EVSE]], error) {
			q, err := in.parse()
			if err != nil {
				return nil, err
			}
			q.Filter = map[string]string{"station_id": in.ID}
			items, next, err := app.List(ctx, a, app.EVSEs, q)
			return &body[Page[asset.EVSE]]{Page[asset.EVSE]{Items: items, NextCursor: next}}, listFail(err)
		})
	huma.Register(api, withStatus(op(http.MethodPost, "/stations/{id}/evses", "create-station-evse", "Add an EVSE to a station", account.RoleOperator, "Stations"), http.StatusCreated),
		func(ctx context.Context, in *struct {
			ID   string `path:"id"`
			Body struct {
				EVSENo   int    `json:"evse_no" minimum:"1"`
				TariffID string `json:"tariff_id,omitempty"`
			}
		}) (*created[asset.EVSE], error) {
			v, err := app.Create(ctx, a, app.EVSEs, asset.EVSEFields{StationID: in.ID, EVSENo: in.Body.EVSENo, TariffID: in.Body.TariffID})
			if err != nil {
				return nil, fail(err)
			}
			return &created[asset.EVSE]{Status: http.StatusCreated, Body: *v}, nil
		})

	// The cross-entity search reads master data; it is mounted with it (search.go).
	registerSearch(api, a)

	type tokenOut struct {
		account.APIToken
		Token string `json:"token" doc:"the secret; shown once"`
	}
	huma.Register(api, withStatus(op(http.MethodPost, "/api-tokens", "create-api-token", "Create an API token (the secret is shown once)", account.RoleAdmin, "API tokens"), http.StatusCreated),
		func(ctx context.Context, in *body[app.APITokenInput]) (*created[tokenOut], error) {
			t, plain, err := a.NewAPIToken(ctx, in.Body)
			if err != nil {
				return nil, fail(err)
			}
			return &created[tokenOut]{Status: http.StatusCreated, Body: tokenOut{APIToken: *t, Token: plain}}, nil
		})
}

func accountView(a *app.App) func(context.Context, *account.Account) (AccountOut, error) {
	return func(ctx context.Context, v *account.Account) (AccountOut, error) {
		av, err := a.GetAccount(ctx, v.ID)
		if err != nil {
			return AccountOut{}, err
		}
		return AccountOut{ID: v.ID, UserID: v.UserID, Currency: v.Currency, Balance: MoneyOf(av.Balance),
			CreditLimit: MoneyOf(money.New(v.CreditLimit, v.Currency)), Status: v.Status, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}, nil
	}
}

var auditResource = &app.Resource[audit.Event, struct{}]{
	Name: "audit event", WriteRole: account.RoleAdmin,
	Repo: func(tx store.Tx) store.Repo[audit.Event] { return tx.Audit() },
}
