package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// querier is what both *sql.Tx and *sql.DB offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// meta are the columns every master-data table has.
type meta struct {
	ID        *string
	Status    *string
	CreatedAt *time.Time
	UpdatedAt *time.Time
}

// table describes how a record type is stored: its document in `data`, and the columns
// (cols, filled by vals in the same order) that are filtered, joined or constrained on.
type table[T any] struct {
	name   string
	entity string // singular name for errors
	cols   []string
	vals   func(*T) []any
	meta   func(*T) meta
	secret func(*T) *string // optional column "secret" (hashes), never in the document
	search []string         // columns searched by Query.Search
	// nonEmpty are the columns whose unique index is partial, WHERE col <> '' (an optional
	// key such as a VIN). GetBy repeats that condition so the index serves a parameter too:
	// PostgreSQL's generic plan for a prepared statement cannot prove it otherwise.
	nonEmpty []string
}

// repo is a table bound to a transaction.
type repo[T any] struct {
	t  *table[T]
	db *DB
	q  querier
}

func micros(t time.Time) int64 { return t.UnixMicro() }

// Filterable lists the exact filters: status, the table's columns (but those kept only for
// ranges and sorts) and the list's filters on related tables.
func (r repo[T]) Filterable() []string {
	sp := specOf(r.t)
	out := []string{"status"}
	for _, c := range r.t.cols {
		if !slices.Contains(sp.internal, c) {
			out = append(out, c)
		}
	}
	return append(out, slices.Sorted(maps.Keys(sp.virtual))...)
}

func (r repo[T]) Create(ctx context.Context, v *T) error {
	args, err := r.t.row(v)
	if err != nil {
		return err
	}
	_, err = r.q.ExecContext(ctx, r.db.rebind(r.t.insertHead()+" VALUES ("+placeholders(len(args))+")"), args...)
	return r.db.mapErr("create "+r.t.entity, err)
}

// insertCols are the columns a new row fills, in the order of row's values.
func (tb *table[T]) insertCols() []string {
	cols := append([]string{"id", "status", "created_at", "updated_at", "data"}, tb.cols...)
	if tb.secret != nil {
		cols = append(cols, "secret")
	}
	return cols
}

// insertHead is "INSERT INTO name (insertCols)".
func (tb *table[T]) insertHead() string {
	return "INSERT INTO " + tb.name + " (" + strings.Join(tb.insertCols(), ", ") + ")"
}

// row is v's values for insertCols.
func (tb *table[T]) row(v *T) ([]any, error) {
	m := tb.meta(v)
	data, err := json.Marshal(v)
	if err != nil {
		return nil, errs.Wrap("encode "+tb.entity, err)
	}
	args := append([]any{*m.ID, statusOf(m), micros(*m.CreatedAt), micros(*m.UpdatedAt), string(data)}, nullEmpty(tb.vals(v))...)
	if tb.secret != nil {
		args = append(args, *tb.secret(v))
	}
	return args, nil
}

func (r repo[T]) Update(ctx context.Context, v *T) error {
	m := r.t.meta(v)
	data, err := json.Marshal(v)
	if err != nil {
		return errs.Wrap("encode "+r.t.entity, err)
	}
	sets := []string{"status = ?", "updated_at = ?", "data = ?"}
	args := []any{statusOf(m), micros(*m.UpdatedAt), string(data)}
	for i, c := range r.t.cols {
		sets = append(sets, c+" = ?")
		args = append(args, nullEmpty(r.t.vals(v))[i])
	}
	if r.t.secret != nil {
		sets = append(sets, "secret = ?")
		args = append(args, *r.t.secret(v))
	}
	args = append(args, *m.ID)
	res, err := r.q.ExecContext(ctx, r.db.rebind("UPDATE "+r.t.name+" SET "+strings.Join(sets, ", ")+" WHERE id = ?"), args...)
	if err != nil {
		return r.db.mapErr("update "+r.t.entity, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "%s %q not found", r.t.entity, *m.ID)
	}
	return nil
}

func (r repo[T]) selectCols() string {
	if r.t.secret != nil {
		return "data, secret"
	}
	return "data"
}

func (r repo[T]) scan(row interface{ Scan(...any) error }) (*T, error) { return r.scanWith(row, nil) }

// scanWith scans a row of selectCols, then extra (when not nil) from the next column.
func (r repo[T]) scanWith(row interface{ Scan(...any) error }, extra any) (*T, error) {
	var data string
	var secret string
	dst := []any{&data}
	if r.t.secret != nil {
		dst = append(dst, &secret)
	}
	if extra != nil {
		dst = append(dst, extra)
	}
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, errs.Wrap("decode "+r.t.entity, err)
	}
	if r.t.secret != nil {
		*r.t.secret(v) = secret
	}
	return v, nil
}

func (r repo[T]) Get(ctx context.Context, id string) (*T, error) {
	v, err := r.scan(r.q.QueryRowContext(ctx, r.db.rebind("SELECT "+r.selectCols()+" FROM "+r.t.name+" WHERE id = ?"), id))
	if err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "%s %q not found", r.t.entity, id)
	}
	return v, r.db.mapErr("get "+r.t.entity, err)
}

func (r repo[T]) GetBy(ctx context.Context, field, value string) (*T, error) {
	if field != "id" && field != "status" && !slices.Contains(r.t.cols, field) && field != "secret" {
		return nil, errs.E(errs.Internal, "%s has no column %q", r.t.name, field)
	}
	v, err := r.scan(r.q.QueryRowContext(ctx, r.db.rebind(r.getByQuery(field)), value))
	if err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "%s with %s %q not found", r.t.entity, field, value)
	}
	return v, r.db.mapErr("get "+r.t.entity, err)
}

func (r repo[T]) getByQuery(field string) string {
	where := field + " = ?"
	if slices.Contains(r.t.nonEmpty, field) {
		where += " AND " + field + " <> ''"
	}
	return "SELECT " + r.selectCols() + " FROM " + r.t.name + " WHERE " + where + " ORDER BY id LIMIT 1"
}

// List pages a table: exact filters, search, the list's time and amount ranges and its sort
// (see listSpec), keyset-paged on (sort column, id).
func (r repo[T]) List(ctx context.Context, q store.Query) ([]T, string, error) {
	limit := pageLimit(q)
	sp := specOf(r.t)
	p, err := planList(sp, q)
	if err != nil {
		return nil, "", err
	}
	var where []string
	var args []any
	allowed := r.Filterable()
	keys := make([]string, 0, len(q.Filter))
	for k := range q.Filter {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, "", errs.Field(k, "cannot filter %s by %s (filters: %s)", r.t.name, k, strings.Join(allowed, ", "))
		}
		if cond, ok := sp.virtual[k]; ok {
			where = append(where, cond)
		} else {
			where = append(where, k+" = ?")
		}
		args = append(args, q.Filter[k])
		if common, ok := sp.sparse[k]; ok && q.Filter[k] != common {
			where = append(where, k+" <> '"+common+"'")
		}
	}
	if q.Search != "" && len(r.t.search) > 0 {
		var ors []string
		for _, c := range r.t.search {
			ors = append(ors, r.db.likeCI(c))
			args = append(args, likePattern(q.Search))
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	where, args = append(where, p.where...), append(args, p.args...)
	sel := r.selectCols()
	if c := p.sortCol(); c != "" {
		sel += ", " + c
	}
	sqlq := "SELECT " + sel + " FROM " + r.t.name
	if len(where) > 0 {
		sqlq += " WHERE " + strings.Join(where, " AND ")
	}
	sqlq += p.orderBy() + " LIMIT ?"
	args = append(args, limit+1)
	rows, err := r.q.QueryContext(ctx, r.db.rebind(sqlq), args...)
	if err != nil {
		return nil, "", r.db.mapErr("list "+r.t.name, err)
	}
	defer rows.Close()
	items, next, err := readPage(p, rows, limit, func(sv any) (T, error) {
		v, err := r.scanWith(rows, sv)
		if err != nil {
			var zero T
			return zero, err
		}
		return *v, nil
	}, func(v *T) string { return *r.t.meta(v).ID })
	return items, next, r.db.mapErr("list "+r.t.name, err)
}

func statusOf(m meta) string {
	if m.Status == nil {
		return ""
	}
	return *m.Status
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// nullEmpty stores empty optional references as NULL so foreign keys accept them.
func nullEmpty(vals []any) []any {
	for i, v := range vals {
		if p, ok := v.(optRef); ok {
			if p == "" {
				vals[i] = nil
			} else {
				vals[i] = string(p)
			}
		}
	}
	return vals
}

// optRef marks an optional foreign key: empty means NULL.
type optRef string
