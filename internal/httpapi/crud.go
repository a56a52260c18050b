package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/store"
)

// ListParams are the paging and search parameters of every list.
type ListParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"page size"`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
	Q      string `query:"q" doc:"search text" maxLength:"100"`
	filter map[string]string
}

// Resolve collects the remaining query parameters as filters; the store refuses unknown ones.
func (p *ListParams) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	p.filter = map[string]string{}
	for k, v := range u.Query() {
		switch k {
		case "limit", "cursor", "q":
			continue
		}
		if len(v) > 0 {
			p.filter[k] = v[0]
		}
	}
	return nil
}

func (p *ListParams) query() store.Query {
	return store.Query{Limit: p.Limit, Cursor: p.Cursor, Search: p.Q, Filter: p.filter}
}

// Page is a page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"pass as cursor to get the next page; absent on the last page"`
}

type idPath struct {
	ID string `path:"id" maxLength:"100"`
}

type created[T any] struct {
	Status int
	Body   T
}

type body[T any] struct{ Body T }

type patchInput struct {
	ID   string          `path:"id" maxLength:"100"`
	Body json.RawMessage `doc:"JSON merge patch (RFC 7396) of the writable fields: absent keeps, null clears"`
}

// crudSpec says how a resource is exposed.
type crudSpec struct {
	path     string // "/sites"
	name     string // "site"
	plural   string // "sites"
	tag      string
	filters  []string // documented filters
	noCreate bool
	noWrite  bool
}

// registerCRUD exposes a resource: POST (create, 201), GET one, GET list, PATCH (JSON merge
// patch of the writable fields), DELETE (deactivate; nothing is ever hard-deleted).
// view turns a stored record into its API shape.
func registerCRUD[T, I, V any](api huma.API, a *app.App, r *app.Resource[T, I], s crudSpec, view func(context.Context, *T) (V, error)) {
	writeRole := r.WriteRole
	if !s.noCreate && !s.noWrite {
		huma.Register(api, withStatus(op(http.MethodPost, s.path, "create-"+s.name, "Create a "+s.name, writeRole, s.tag), http.StatusCreated),
			func(ctx context.Context, in *body[I]) (*created[V], error) {
				v, err := app.Create(ctx, a, r, in.Body)
				if err != nil {
					return nil, fail(err)
				}
				out, err := view(ctx, v)
				return &created[V]{Status: http.StatusCreated, Body: out}, fail(err)
			})
	}
	huma.Register(api, op(http.MethodGet, s.path+"/{id}", "get-"+s.name, "Get a "+s.name, account.RoleViewer, s.tag),
		func(ctx context.Context, in *idPath) (*body[V], error) {
			v, err := app.Get(ctx, a, r, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			out, err := view(ctx, v)
			return &body[V]{out}, fail(err)
		})
	list := op(http.MethodGet, s.path, "list-"+s.plural, "List "+s.plural, account.RoleViewer, s.tag)
	list.Description = "Filters (exact match): " + strings.Join(append([]string{"status"}, s.filters...), ", ") + "."
	for _, f := range s.filters {
		list.Parameters = append(list.Parameters, &huma.Param{Name: f, In: "query", Schema: &huma.Schema{Type: "string"}})
	}
	list.Parameters = append(list.Parameters, &huma.Param{Name: "status", In: "query", Schema: &huma.Schema{Type: "string"}})
	huma.Register(api, list, func(ctx context.Context, in *ListParams) (*body[Page[V]], error) {
		items, next, err := app.List(ctx, a, r, in.query())
		if err != nil {
			return nil, fail(err)
		}
		out := make([]V, 0, len(items))
		for i := range items {
			v, err := view(ctx, &items[i])
			if err != nil {
				return nil, fail(err)
			}
			out = append(out, v)
		}
		return &body[Page[V]]{Page[V]{Items: out, NextCursor: next}}, nil
	})
	if s.noWrite {
		return
	}
	patch := op(http.MethodPatch, s.path+"/{id}", "update-"+s.name, "Update a "+s.name+" (JSON merge patch of its writable fields)", writeRole, s.tag)
	huma.Register(api, patch, func(ctx context.Context, in *patchInput) (*body[V], error) {
		v, err := app.Patch(ctx, a, r, in.ID, in.Body)
		if err != nil {
			return nil, fail(err)
		}
		out, err := view(ctx, v)
		return &body[V]{out}, fail(err)
	})
	huma.Register(api, op(http.MethodDelete, s.path+"/{id}", "deactivate-"+s.name, "Deactivate a "+s.name+" (records are kept: bills may refer to them)", writeRole, s.tag),
		func(ctx context.Context, in *idPath) (*body[V], error) {
			v, err := app.Deactivate(ctx, a, r, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			out, err := view(ctx, v)
			return &body[V]{out}, fail(err)
		})
}

func withStatus(o huma.Operation, code int) huma.Operation {
	o.DefaultStatus = code
	return o
}

// same is the view of records whose stored shape is their API shape.
func same[T any](_ context.Context, v *T) (T, error) { return *v, nil }
