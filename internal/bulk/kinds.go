package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// Kind is one importable and exportable kind of record.
type Kind interface {
	// Name is the kind's name: "sites", "stations", "purchasers", "tokens", "vehicles".
	Name() string
	// Columns are the export's columns, in order; Optional and WriteOnly say what an import
	// may leave out or add.
	Columns() []string
	Required() []string
	WriteOnly() []string
	// Import checks every row of t and creates the records in one transaction, or none.
	Import(ctx context.Context, a *app.App, t *Table, opt app.ImportOptions) (app.ImportResult, error)
	// Export reads every record of the kind, in id order, in one read transaction.
	Export(ctx context.Context, a *app.App) (*Table, error)
}

// Kinds lists the kinds in the order their files import (later kinds refer to earlier ones).
func Kinds() []Kind { return []Kind{sitesKind, stationsKind, purchasersKind, tokensKind, vehiclesKind} }

// Names lists the kinds' names in import order.
func Names() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name())
	}
	return out
}

// Lookup finds a kind by name.
func Lookup(name string) (Kind, error) {
	for _, k := range Kinds() {
		if k.Name() == name {
			return k, nil
		}
	}
	return nil, errs.Field("kind", "%q: use one of %s", name, strings.Join(Names(), ", "))
}

// Import reads a file of kind in format from r and imports it.
func Import(ctx context.Context, a *app.App, kind, format string, r io.Reader, opt app.ImportOptions) (app.ImportResult, error) {
	k, err := Lookup(kind)
	if err != nil {
		return app.ImportResult{Kind: kind}, err
	}
	t, err := Read(r, format, kind)
	if err != nil {
		return app.ImportResult{Kind: kind}, err
	}
	return k.Import(ctx, a, t, opt)
}

// Export writes every record of kind to w in format.
func Export(ctx context.Context, a *app.App, kind, format string, w io.Writer, progress func(done, total int)) error {
	k, err := Lookup(kind)
	if err != nil {
		return err
	}
	if format != CSV && format != XLSX {
		return errs.Field("format", "%q: use csv or xlsx", format)
	}
	t, err := k.Export(ctx, a)
	if err != nil {
		return err
	}
	return Write(w, format, t, progress)
}

// spec is a kind: its columns and how a row becomes an import row and a record a row.
type spec[T, I any] struct {
	name      string
	res       *app.Resource[T, I]
	columns   []string // export columns, in order
	required  []string
	writeOnly []string // accepted on import, never exported (secrets)
	unique    []string // columns whose non-empty values may appear once per file ("id" always)
	filter    map[string]string
	parse     func(c *cells) app.ImportRow[I]
	// prepare reads what format needs besides the records (purchasers: their accounts).
	prepare func(ctx context.Context, tx store.Tx) (any, error)
	format  func(v *T, extra any) []string
	// fields maps an input field the app names in an error to the column ("" = same name).
	fields map[string]string
}

func (s *spec[T, I]) Name() string        { return s.name }
func (s *spec[T, I]) Columns() []string   { return slices.Clone(s.columns) }
func (s *spec[T, I]) Required() []string  { return slices.Clone(s.required) }
func (s *spec[T, I]) WriteOnly() []string { return slices.Clone(s.writeOnly) }

// column maps an app error's field ("address.country", "connector_types[2]") to a column.
func (s *spec[T, I]) column(field string) string {
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	if c, ok := s.fields[field]; ok {
		return c
	}
	return field
}

// header checks the header row and maps column names to positions.
func (s *spec[T, I]) header(cols []string) (map[string]int, []app.RowError) {
	idx := map[string]int{}
	var bad []app.RowError
	for i, c := range cols {
		c = strings.ToLower(strings.TrimSpace(c))
		switch {
		case c == "" && i == len(cols)-1:
			continue // a trailing separator
		case !slices.Contains(s.columns, c) && !slices.Contains(s.writeOnly, c):
			bad = append(bad, app.RowError{Line: 1, Field: c, Message: fmt.Sprintf("unknown column; %s files have %s", s.name, strings.Join(append(s.Columns(), s.writeOnly...), ", "))})
		case func() bool { _, dup := idx[c]; return dup }():
			bad = append(bad, app.RowError{Line: 1, Field: c, Message: "column appears twice"})
		default:
			idx[c] = i
		}
	}
	for _, c := range s.required {
		if _, ok := idx[c]; !ok {
			bad = append(bad, app.RowError{Line: 1, Field: c, Message: "required column is missing"})
		}
	}
	return idx, bad
}

func (s *spec[T, I]) Import(ctx context.Context, a *app.App, t *Table, opt app.ImportOptions) (app.ImportResult, error) {
	res := app.ImportResult{Kind: s.name, Rows: len(t.Rows), DryRun: opt.DryRun}
	idx, bad := s.header(t.Columns)
	if len(bad) > 0 {
		return res, &app.ImportError{Errors: bad}
	}
	rows := make([]app.ImportRow[I], 0, len(t.Rows))
	seen := map[string]map[string]int{}
	for _, r := range t.Rows {
		c := &cells{line: r.Line, idx: idx, vals: r.Cells}
		if len(r.Cells) > len(t.Columns) && !blank(r.Cells[len(t.Columns):]) {
			c.fail("", "has %d fields; the header has %d", len(r.Cells), len(t.Columns))
		}
		row := s.parse(c)
		row.Line = r.Line
		for _, col := range append([]string{"id"}, s.unique...) {
			v := uniqueValue(c, col)
			if v == "" {
				continue
			}
			if seen[col] == nil {
				seen[col] = map[string]int{}
			}
			if first, dup := seen[col][v]; dup {
				c.fail(col, "%q is also on line %d", v, first)
			} else {
				seen[col][v] = r.Line
			}
		}
		if len(c.bad) > 0 {
			bad = append(bad, c.bad...)
			continue
		}
		rows = append(rows, row)
	}
	opt.FieldName = s.column
	if len(bad) == 0 {
		return app.Import(ctx, a, s.res, s.name, rows, opt)
	}
	// Some rows do not even parse: check the others too (writing nothing), so that one run
	// reports every bad row.
	dry := opt
	dry.DryRun = true
	_, err := app.Import(ctx, a, s.res, s.name, rows, dry)
	var ie *app.ImportError
	if errors.As(err, &ie) {
		bad = append(bad, ie.Errors...)
	} else if err != nil {
		return res, err
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	return res, &app.ImportError{Errors: bad}
}

// uniqueValue is the value a column's uniqueness is judged by (VINs are stored upper-case).
func uniqueValue(c *cells, col string) string {
	v := c.str(col)
	if col == "vin" {
		v = strings.ToUpper(v)
	}
	return v
}

func (s *spec[T, I]) Export(ctx context.Context, a *app.App) (*Table, error) {
	t := &Table{Sheet: s.name, Columns: s.Columns()}
	err := a.Export(ctx, func(tx store.Tx) error {
		var extra any
		if s.prepare != nil {
			var err error
			if extra, err = s.prepare(ctx, tx); err != nil {
				return err
			}
		}
		items, err := app.ListAllIn(ctx, tx, s.res, s.filter)
		if err != nil {
			return err
		}
		t.Rows = make([]Row, len(items))
		for i := range items {
			t.Rows[i] = Row{Line: i + 2, Cells: s.format(&items[i], extra)}
		}
		return nil
	})
	if err != nil {
		return nil, errs.Wrap("export "+s.name, err)
	}
	return t, nil
}
