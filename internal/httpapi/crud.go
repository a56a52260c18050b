package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// ListParams are the paging and search parameters of every list.
type ListParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"page size"`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
	Q      string `query:"q" doc:"search text" maxLength:"100"`
	RangeParams
	filter map[string]string
}

// Resolve collects the remaining query parameters as filters; the store refuses unknown ones.
func (p *ListParams) Resolve(ctx huma.Context) []error {
	p.RangeParams.Resolve(ctx)
	u := ctx.URL()
	p.filter = map[string]string{}
	for k, v := range u.Query() {
		switch k {
		case "limit", "cursor", "q":
			continue
		}
		if rangeParam(k) {
			continue
		}
		if len(v) > 0 {
			p.filter[k] = v[0]
		}
	}
	return nil
}

// query is the paging, search and filters of the parameters (lists without ranges or sorts).
func (p *ListParams) query() store.Query {
	return store.Query{Limit: p.Limit, Cursor: p.Cursor, Search: p.Q, Filter: p.filter}
}

// parse is the store query with the time range, amount range and sort; a malformed time is a
// 400 problem.
func (p *ListParams) parse() (store.Query, error) {
	q := p.query()
	return q, p.apply(&q)
}

// RangeParams are the time range, amount range and sort every list takes. They are read from
// the URL by Resolve, so that a malformed value is a 400 naming the parameter (as the store's
// refusals are), and documented per list by listDoc.
type RangeParams struct {
	from, to                        time.Time
	sort, timeField, minAmt, maxAmt string
	err                             error
}

func rangeParam(name string) bool {
	switch name {
	case "from", "to", "sort", "time_field", "min_amount", "max_amount":
		return true
	}
	return false
}

// Resolve reads the parameters; errors are kept for apply (huma would answer them with 422).
func (p *RangeParams) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	v := u.Query()
	p.sort, p.timeField, p.minAmt, p.maxAmt, p.err = v.Get("sort"), v.Get("time_field"), v.Get("min_amount"), v.Get("max_amount"), nil
	for _, x := range []struct {
		name string
		dst  *time.Time
	}{{"from", &p.from}, {"to", &p.to}} {
		*x.dst = time.Time{}
		if s := v.Get(x.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				p.err = queryProblem(x.name, fmt.Sprintf("%s: %q is not an RFC 3339 time (e.g. 2026-11-25T00:00:00Z)", x.name, s))
				continue
			}
			*x.dst = t.UTC()
		}
	}
	return nil
}

// apply puts the parameters on a store query.
func (p *RangeParams) apply(q *store.Query) error {
	q.From, q.To, q.TimeField, q.MinAmount, q.MaxAmount, q.Sort = p.from, p.to, p.timeField, p.minAmt, p.maxAmt, p.sort
	return p.err
}

func queryProblem(param, msg string) error {
	return newProblem(http.StatusBadRequest, msg, &huma.ErrorDetail{Location: "query." + param, Message: msg})
}

// listFail is fail for lists: a query the store refuses for its sort, range or a cursor of
// another sort is a 400 naming the query parameter; other errors map as everywhere.
func listFail(err error) error {
	if errors.Is(err, store.ErrBadQuery) {
		return queryProblem(errs.FieldOf(err), errs.Message(err))
	}
	return fail(err)
}

// listDoc documents what a list takes beyond exact filters (the store is what enforces it).
type listDoc struct {
	times  []string // time fields from/to apply to; the first is the default
	sorts  []string // sort fields besides id
	amount string   // what min_amount/max_amount bound; "" when the list has no amount
	desc   bool     // the default order is newest first (-id)
}

// document adds the range and sort parameters to a list operation.
func (d listDoc) document(o *huma.Operation) {
	str := func(name, doc string, enum ...string) {
		s := &huma.Schema{Type: "string"}
		for _, e := range enum {
			s.Enum = append(s.Enum, e)
		}
		o.Parameters = append(o.Parameters, &huma.Param{Name: name, In: "query", Description: doc, Schema: s})
	}
	if len(d.times) > 0 {
		on := d.times[0]
		if len(d.times) > 1 {
			on = "time_field (default " + d.times[0] + ")"
		}
		o.Parameters = append(o.Parameters,
			&huma.Param{Name: "from", In: "query", Description: "RFC 3339: only items whose " + on + " is at or after this instant",
				Schema: &huma.Schema{Type: "string", Format: "date-time"}},
			&huma.Param{Name: "to", In: "query", Description: "RFC 3339: only items whose " + on + " is before this instant (exclusive)",
				Schema: &huma.Schema{Type: "string", Format: "date-time"}})
		if len(d.times) > 1 {
			str("time_field", "the time from and to apply to", d.times...)
		}
	}
	if d.amount != "" {
		str("min_amount", "exact decimal in the item's currency (e.g. 12.50): only items whose "+d.amount+" is at least this; items without one yet never match")
		str("max_amount", "exact decimal in the item's currency: only items whose "+d.amount+" is at most this")
	}
	enum := []string{"id", "-id"}
	for _, f := range d.sorts {
		enum = append(enum, f, "-"+f)
	}
	sortDoc := "order of the items: a field, or -field for descending; ties are broken by id. Default: by id"
	if d.desc {
		sortDoc = "order of the items: a field, or -field for descending; ties are broken by id. Default: newest first (-id)"
	}
	switch {
	case len(d.times) > 0 && d.amount != "":
		sortDoc += ", or by the time field when from or to is given, else by the amount when min_amount or max_amount is"
	case len(d.times) > 0:
		sortDoc += ", or by the time field when from or to is given"
	}
	if d.amount != "" {
		sortDoc += ". Amounts in different currencies sort by their decimal value (no exchange rates)"
	}
	str("sort", sortDoc+". A cursor only continues the sort it was made with.", enum...)
	if o.Description != "" {
		o.Description += " "
	}
	o.Description += "Sorts: " + strings.Join(enum, ", ") + "."
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
	list     listDoc  // documented ranges and sorts
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
	s.list.document(&list)
	huma.Register(api, list, func(ctx context.Context, in *ListParams) (*body[Page[V]], error) {
		q, err := in.parse()
		if err != nil {
			return nil, err
		}
		items, next, err := app.List(ctx, a, r, q)
		if err != nil {
			return nil, listFail(err)
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
