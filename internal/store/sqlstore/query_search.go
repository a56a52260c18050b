package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// Search finds purchasers, id tokens, vehicles and stations containing the text in their
// searched fields, case-insensitively. It is a LIKE over LOWER(column), the same on both
// engines; a page is cut after PerType hits in the order of the type's name index, so a common
// text stops early and only a text that matches little reads the whole table (see
// query_bench_test.go for what that costs at 100,000 purchasers).
func (t *tx) Search(ctx context.Context, q store.SearchQuery) (*store.SearchResult, error) {
	text := strings.TrimSpace(q.Text)
	if text == "" {
		return nil, store.BadQuery("q", "is required")
	}
	n := q.PerType
	if n <= 0 {
		n = 10
	}
	n = min(n, 50)
	want := func(kind string) bool { return len(q.Types) == 0 || slices.Contains(q.Types, kind) }
	for _, k := range q.Types {
		if !slices.Contains(store.SearchTypes, k) {
			return nil, store.BadQuery("types", "unknown type %q (types: %s)", k, strings.Join(store.SearchTypes, ", "))
		}
	}
	pat := likePattern(text)
	like := func(col string) string { return "LOWER(" + col + ") LIKE ? ESCAPE '\\'" }
	out := &store.SearchResult{Purchasers: []account.User{}, IdTokens: []account.IdToken{}, Vehicles: []account.Vehicle{}, Stations: []store.StationHit{}}
	var err error
	if want(store.SearchPurchasers) {
		out.Purchasers, err = searchTable(ctx, t, users, "role = ? AND ("+like("name")+" OR "+like("email")+")", "name, id",
			[]any{account.RolePurchaser, pat, pat}, n)
		if err != nil {
			return nil, err
		}
	}
	if want(store.SearchIdTokens) {
		if out.IdTokens, err = searchTable(ctx, t, idTokens, like("uid"), "uid", []any{pat}, n); err != nil {
			return nil, err
		}
	}
	if want(store.SearchVehicles) {
		if out.Vehicles, err = searchTable(ctx, t, vehicles, "("+like("plate")+" OR "+like("vin")+")", "plate, id", []any{pat, pat}, n); err != nil {
			return nil, err
		}
	}
	if want(store.SearchStations) {
		if out.Stations, err = t.searchStations(ctx, pat, n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// searchTable reads up to n rows of a table matching cond, in order.
func searchTable[T any](ctx context.Context, t *tx, tb *table[T], cond, order string, args []any, n int) ([]T, error) {
	r := repo[T]{t: tb, db: t.db, q: t.q}
	rows, err := t.q.QueryContext(ctx, t.db.rebind("SELECT data FROM "+tb.name+" WHERE "+cond+" ORDER BY "+order+" LIMIT ?"), append(args, n)...)
	if err != nil {
		return nil, t.db.mapErr("search "+tb.name, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, t.db.mapErr("search "+tb.name, err)
		}
		v, err := r.decode(data)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, t.db.mapErr("search "+tb.name, rows.Err())
}

// searchStations matches a station's id, name, vendor and model (from its document: stations
// are thousands, not millions) and its site's name.
func (t *tx) searchStations(ctx context.Context, pat string, n int) ([]store.StationHit, error) {
	var conds []string
	var args []any
	for _, c := range []string{"s.id", "COALESCE(json(s.data) ->> 'name', '')", "COALESCE(json(s.data) ->> 'vendor', '')",
		"COALESCE(json(s.data) ->> 'model', '')", "COALESCE(si.name, '')"} {
		conds = append(conds, "LOWER("+c+") LIKE ? ESCAPE '\\'")
		args = append(args, pat)
	}
	q := "SELECT s.data, COALESCE(si.name, '') FROM stations s LEFT JOIN sites si ON si.id = s.site_id WHERE " +
		strings.Join(conds, " OR ") + " ORDER BY s.id LIMIT ?"
	rows, err := t.q.QueryContext(ctx, t.db.rebind(q), append(args, n)...)
	if err != nil {
		return nil, t.db.mapErr("search stations", err)
	}
	defer rows.Close()
	out := []store.StationHit{}
	for rows.Next() {
		var data, site string
		if err := rows.Scan(&data, &site); err != nil {
			return nil, t.db.mapErr("search stations", err)
		}
		v, err := repo[asset.Station]{t: stations}.decode(data)
		if err != nil {
			return nil, err
		}
		out = append(out, store.StationHit{Station: *v, SiteName: site})
	}
	return out, t.db.mapErr("search stations", rows.Err())
}

// decode reads a stored document.
func (r repo[T]) decode(data string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, errs.Wrap("decode "+r.t.entity, err)
	}
	return v, nil
}
