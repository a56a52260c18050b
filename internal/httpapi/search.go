package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/store"
)

// StationHitOut is a station found by a search, with its site's name.
type StationHitOut struct {
	asset.Station
	SiteName string `json:"site_name,omitempty"`
}

// SearchOut are a search's hits, by type, each list at most limit long.
type SearchOut struct {
	Query      string            `json:"query"`
	Purchasers []account.User    `json:"purchasers" doc:"users with role purchaser, by name or e-mail"`
	IdTokens   []account.IdToken `json:"id_tokens" doc:"by uid"`
	Vehicles   []account.Vehicle `json:"vehicles" doc:"by plate or VIN"`
	Stations   []StationHitOut   `json:"stations" doc:"by OCPP identity, name, vendor, model or site name"`
}

// registerSearch mounts the cross-entity search.
func registerSearch(api huma.API, a *app.App) {
	o := op(http.MethodGet, "/search", "search", "Find purchasers, id tokens, vehicles and stations by text", account.RoleViewer, "Search")
	o.Description = "Case-insensitive substring match: purchasers by name and e-mail, id tokens by uid, vehicles by plate and VIN, " +
		"stations by OCPP identity, name, vendor, model and site name. Each type answers at most `limit` hits, in name order."
	huma.Register(api, o, func(ctx context.Context, in *struct {
		Q     string `query:"q" maxLength:"100" doc:"text to find (required)"`
		Limit int    `query:"limit" minimum:"1" maximum:"50" default:"10" doc:"hits per type"`
		Types string `query:"types" maxLength:"100" doc:"comma-separated types to search (purchasers, id_tokens, vehicles, stations); default all"`
	}) (*body[SearchOut], error) {
		q := store.SearchQuery{Text: in.Q, PerType: in.Limit}
		for _, t := range strings.Split(in.Types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				q.Types = append(q.Types, t)
			}
		}
		var res *store.SearchResult
		err := a.Store.View(ctx, func(tx store.Tx) (err error) { res, err = tx.Search(ctx, q); return })
		if err != nil {
			return nil, listFail(err)
		}
		out := SearchOut{Query: in.Q, Purchasers: res.Purchasers, IdTokens: res.IdTokens, Vehicles: res.Vehicles, Stations: []StationHitOut{}}
		for _, h := range res.Stations {
			out.Stations = append(out.Stations, StationHitOut{Station: h.Station, SiteName: h.SiteName})
		}
		return &body[SearchOut]{out}, nil
	})
}
