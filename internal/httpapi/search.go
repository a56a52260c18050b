package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"

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
		"stations by OCPP identity, name, vendor, model and site name. Each type answers at most `limit` hits (the first found), sorted by name."
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
		res, err := searchEach(ctx, a, q)
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

// searchEach searches each type in a read transaction of its own, at once: a text that matches
// little reads each type's whole table, and the reads then take the longest one's time rather
// than their sum.
func searchEach(ctx context.Context, a *app.App, q store.SearchQuery) (*store.SearchResult, error) {
	types := q.Types
	if len(types) == 0 {
		types = store.SearchTypes
	}
	parts := make([]*store.SearchResult, len(types))
	errs := make([]error, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() {
			one := q
			one.Types = []string{t}
			errs[i] = a.Store.View(ctx, func(tx store.Tx) (err error) { parts[i], err = tx.Search(ctx, one); return })
		})
	}
	wg.Wait()
	out := &store.SearchResult{Purchasers: []account.User{}, IdTokens: []account.IdToken{}, Vehicles: []account.Vehicle{}, Stations: []store.StationHit{}}
	for i := range parts {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out.Purchasers = append(out.Purchasers, parts[i].Purchasers...)
		out.IdTokens = append(out.IdTokens, parts[i].IdTokens...)
		out.Vehicles = append(out.Vehicles, parts[i].Vehicles...)
		out.Stations = append(out.Stations, parts[i].Stations...)
	}
	return out, nil
}
