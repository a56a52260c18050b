package sqlstore

import (
	"cmp"
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
// searched fields, case-insensitively (see likeCI). Each type's table is read in storage order
// and cut after PerType hits, which are then sorted: a common text stops early, and a text that
// matches little reads the table once, without the random reads an index order costs (at
// 100,000 purchasers see cmd/evcs/query_bench_test.go).
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
	like := t.db.likeCI
	out := &store.SearchResult{Purchasers: []account.User{}, IdTokens: []account.IdToken{}, Vehicles: []account.Vehicle{}, Stations: []store.StationHit{}}
	var err error
	if want(store.SearchPurchasers) {
		out.Purchasers, err = searchTable(ctx, t, users, "role = ? AND ("+like("name")+" OR "+like("email")+")",
			[]any{account.RolePurchaser, pat, pat}, n, func(a, b account.User) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
		if err != nil {
			return nil, err
		}
	}
	if want(store.SearchIdTokens) {
		out.IdTokens, err = searchTable(ctx, t, idTokens, like("uid"), []any{pat}, n, func(a, b account.IdToken) int { return cmp.Compare(a.UID, b.UID) })
		if err != nil {
			return nil, err
		}
	}
	if want(store.SearchVehicles) {
		out.Vehicles, err = searchTable(ctx, t, vehicles, "("+like("plate")+" OR "+like("vin")+")", []any{pat, pat}, n,
			func(a, b account.Vehicle) int { return cmp.Or(cmp.Compare(a.Plate, b.Plate), cmp.Compare(a.ID, b.ID)) })
		if err != nil {
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

// searchTable reads up to n rows of a table matching cond, sorted by order.
func searchTable[T any](ctx context.Context, t *tx, tb *table[T], cond string, args []any, n int, order func(a, b T) int) ([]T, error) {
	r := repo[T]{t: tb, db: t.db, q: t.q}
	rows, err := t.q.QueryContext(ctx, t.db.rebind("SELECT data FROM "+tb.name+" WHERE "+cond+" LIMIT ?"), append(args, n)...)
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
	slices.SortFunc(out, order)
	return out, t.db.mapErr("search "+tb.name, rows.Err())
}

// searchStations matches a station's id, name, vendor and model (from its document: stations
// are thousands, not millions) and its site's name.
func (t *tx) searchStations(ctx context.Context, pat string, n int) ([]store.StationHit, error) {
	var conds []string
	var args []any
	for _, c := range []string{"s.id", "COALESCE(json(s.data) ->> 'name', '')", "COALESCE(json(s.data) ->> 'vendor', '')",
		"COALESCE(json(s.data) ->> 'model', '')", "COALESCE(si.name, '')"} {
		conds = append(conds, t.db.likeCI(c))
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
