package sqlstore

import (
	"database/sql"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// listSpec is what a list offers beyond exact filters: the time fields From/To bound, an amount
// for MinAmount/MaxAmount, the fields it sorts by and filters that look at other tables. The
// columns are SQL expressions as the list's query names them ("created_at", "e.created_at").
type listSpec struct {
	noun   string  // plural for messages ("sessions")
	id     string  // the id column, the tie-breaker of every sort ("id" when empty)
	times  []field // time fields (BIGINT µs); the first is the natural one
	sorts  []field // sortable fields besides id, each with an index on (column, id)
	amount *amountCols
	// virtual are filters on related tables: name → condition with one '?' for the value.
	virtual map[string]string
	// internal are columns kept for ranges and sorts only: not offered as exact filters.
	internal []string
	// sparse are columns whose rows nearly all have one value (column → that value), indexed
	// only for the others (a partial index WHERE column <> value): a filter on another value
	// says so, literally, so that the index serves it on both engines.
	sparse map[string]string
	desc   bool // the default order is newest (highest id) first
}

// field is an API field name and its column.
type field struct {
	name, col string
	text      bool // a TEXT column; otherwise BIGINT
}

// amountCols are the column of a list's amount: in thousandths of the major unit (milli: one
// scale for every currency, so a range is one index range), or in minor units of the row's
// currency column (the ledger's entries). unset: the column is -1 while a row has no amount
// yet (an amount range then starts at 0).
type amountCols struct {
	col, currency string
	milli, unset  bool
}

func (sp *listSpec) idCol() string {
	if sp.id == "" {
		return "id"
	}
	return sp.id
}

func names(fs []field, signed bool) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.name)
		if signed {
			out = append(out, "-"+f.name)
		}
	}
	return strings.Join(out, ", ")
}

func lookup(fs []field, name string) (field, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// listPlan is a list query's WHERE conditions (with their arguments) and its order.
type listPlan struct {
	sp    *listSpec
	where []string
	args  []any
	key   *field // the sort field; nil: id alone
	// amountCol is the amount column when the query has an amount range.
	amountCol string
	desc      bool
	sort      string // the normalised sort the cursor is tied to; "" is the default order
}

// planList checks the range, amount, sort and cursor of q and turns them into SQL. Exact
// filters are the caller's (they differ per list).
func planList(sp *listSpec, q store.Query) (*listPlan, error) {
	p := &listPlan{sp: sp}
	tf, err := p.timeRange(q)
	if err != nil {
		return nil, err
	}
	if err := p.amountRange(q); err != nil {
		return nil, err
	}
	if err := p.order(q, tf); err != nil {
		return nil, err
	}
	return p, p.after(q.Cursor)
}

// timeRange adds From/To on the chosen time field and returns that field (nil when no range).
func (p *listPlan) timeRange(q store.Query) (*field, error) {
	sp := p.sp
	var tf field
	switch {
	case q.TimeField != "":
		f, ok := lookup(sp.times, q.TimeField)
		if !ok {
			if len(sp.times) == 0 {
				return nil, store.BadQuery("time_field", "%s have no time field", sp.noun)
			}
			return nil, store.BadQuery("time_field", "%s have no time field %q (time fields: %s)", sp.noun, q.TimeField, names(sp.times, false))
		}
		tf = f
	case len(sp.times) > 0:
		tf = sp.times[0]
	}
	if q.From.IsZero() && q.To.IsZero() {
		return nil, nil
	}
	if tf.col == "" {
		param := "from"
		if q.From.IsZero() {
			param = "to"
		}
		return nil, store.BadQuery(param, "%s cannot be listed by time", sp.noun)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return nil, store.BadQuery("to", "must be after from")
	}
	if !q.From.IsZero() {
		p.where, p.args = append(p.where, tf.col+" >= ?"), append(p.args, micros(q.From))
	}
	if !q.To.IsZero() {
		p.where, p.args = append(p.where, tf.col+" < ?"), append(p.args, micros(q.To))
	}
	return &tf, nil
}

// amountRange adds MinAmount/MaxAmount. The bounds are exact decimals in each row's currency:
// converted to minor units per currency exponent (rounded inwards, so 12.345 EUR as a minimum
// is 12.35), one bound when the query filters one currency, otherwise a bound chosen by the
// row's currency.
func (p *listPlan) amountRange(q store.Query) error {
	if q.MinAmount == "" && q.MaxAmount == "" {
		return nil
	}
	a := p.sp.amount
	if a == nil {
		param := "min_amount"
		if q.MinAmount == "" {
			param = "max_amount"
		}
		return store.BadQuery(param, "%s have no amount", p.sp.noun)
	}
	lo, err := parseAmount("min_amount", q.MinAmount)
	if err != nil {
		return err
	}
	hi, err := parseAmount("max_amount", q.MaxAmount)
	if err != nil {
		return err
	}
	if lo != nil && hi != nil && lo.Cmp(*hi) > 0 {
		return store.BadQuery("max_amount", "is below min_amount")
	}
	if a.unset && (lo == nil || lo.Sign() < 0) {
		zero := decimal.Zero
		lo = &zero // one lower bound: with two, SQLite may read the index from the wrong one
	}
	cur, oneCurrency := q.Filter["currency"]
	if a.milli {
		cur, oneCurrency = "", true
	}
	for _, b := range []struct {
		d  *decimal.Decimal
		op string
	}{{lo, ">="}, {hi, "<="}} {
		if b.d == nil {
			continue
		}
		minor := func(digits int) (int64, error) { return toMinor(*b.d, digits, b.op == ">=") }
		if oneCurrency {
			digits, ok := money.Digits(cur)
			switch {
			case a.milli:
				digits = 3
			case !ok:
				digits = 2 // an unknown currency matches no row anyway
			}
			v, err := minor(digits)
			if err != nil {
				return store.BadQuery(boundParam(b.op), "is out of range")
			}
			p.where, p.args = append(p.where, a.col+" "+b.op+" ?"), append(p.args, v)
			continue
		}
		// CASE currency WHEN the zero- and three-digit ones …; two digits otherwise. The loosest
		// of the bounds goes first, as a plain range an index can read.
		var sb strings.Builder
		sb.WriteString(a.col + " " + b.op + " CASE")
		var args []any
		loosest, err := minor(2)
		if err != nil {
			return store.BadQuery(boundParam(b.op), "is out of range")
		}
		dflt := loosest
		for _, g := range exponentGroups() {
			v, err := minor(g.digits)
			if err != nil {
				return store.BadQuery(boundParam(b.op), "is out of range")
			}
			if (b.op == ">=" && v < loosest) || (b.op == "<=" && v > loosest) {
				loosest = v
			}
			sb.WriteString(" WHEN " + a.currency + " IN (" + placeholders(len(g.currencies)) + ") THEN CAST(? AS BIGINT)")
			for _, c := range g.currencies {
				args = append(args, c)
			}
			args = append(args, v)
		}
		sb.WriteString(" ELSE CAST(? AS BIGINT) END") // PostgreSQL types untyped CASE results as text
		p.where, p.args = append(p.where, a.col+" "+b.op+" ?", sb.String()), append(append(append(p.args, loosest), args...), dflt)
	}
	p.amountCol = a.col
	return nil
}

func boundParam(op string) string {
	if op == ">=" {
		return "min_amount"
	}
	return "max_amount"
}

func parseAmount(param, s string) (*decimal.Decimal, error) {
	if s == "" {
		return nil, nil
	}
	d, err := decimal.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, store.BadQuery(param, "%q is not a decimal amount (e.g. 12.50)", s)
	}
	return &d, nil
}

// toMinor converts an amount to minor units of a currency with digits fraction digits, rounding
// up for a lower bound and down for an upper one (never widening the range).
func toMinor(d decimal.Decimal, digits int, up bool) (int64, error) {
	if up {
		d = d.Ceil(digits)
	} else {
		d = d.Floor(digits)
	}
	whole, frac, ok := d.Int64(digits)
	if !ok {
		return 0, errs.E(errs.Invalid, "out of range")
	}
	v := whole
	for range digits {
		if v > 1<<62/10 || v < -(1<<62/10) {
			return 0, errs.E(errs.Invalid, "out of range")
		}
		v *= 10
	}
	return v + frac, nil // Int64 gives frac the sign of d
}

type exponentGroup struct {
	digits     int
	currencies []string
}

// exponentGroups are the currencies whose minor unit is not a hundredth, by exponent. money
// keeps its table to itself, so every three-letter code is asked once.
var exponentGroups = sync.OnceValue(func() []exponentGroup {
	by := map[int][]string{}
	code := []byte("AAA")
	for a := byte('A'); a <= 'Z'; a++ {
		for b := byte('A'); b <= 'Z'; b++ {
			for c := byte('A'); c <= 'Z'; c++ {
				code[0], code[1], code[2] = a, b, c
				if d, ok := money.Digits(string(code)); ok && d != 2 {
					by[d] = append(by[d], string(code))
				}
			}
		}
	}
	var out []exponentGroup
	for d := range 10 {
		if cs := by[d]; len(cs) > 0 {
			out = append(out, exponentGroup{d, cs})
		}
	}
	return out
})

// order chooses the sort. With a time range (else an amount range) and no sort, the list is
// ordered by the range's field (in the default direction), so the range is read in index order
// and a page stops after its rows, however rare they are.
func (p *listPlan) order(q store.Query, tf *field) error {
	sp := p.sp
	name, desc := strings.CutPrefix(q.Sort, "-")
	rangeCol := p.amountCol
	if tf != nil {
		rangeCol = tf.col
	}
	switch {
	case q.Sort == "" && rangeCol != "" && slices.ContainsFunc(sp.sorts, func(f field) bool { return f.col == rangeCol }):
		f, _ := lookupCol(sp.sorts, rangeCol)
		p.key, p.desc = &f, sp.desc
	case q.Sort == "" || name == "id":
		p.desc = sp.desc
		if q.Sort != "" {
			p.desc = desc
		}
	default:
		f, ok := lookup(sp.sorts, name)
		if !ok {
			return store.BadQuery("sort", "cannot sort %s by %q (sorts: id, -id, %s)", sp.noun, q.Sort, names(sp.sorts, true))
		}
		p.key, p.desc = &f, desc
	}
	switch {
	case p.key != nil:
		p.sort = p.key.name
	case p.desc != sp.desc:
		p.sort = "id"
	}
	if p.sort != "" && p.desc {
		p.sort = "-" + p.sort
	}
	return nil
}

func lookupCol(fs []field, col string) (field, bool) {
	for _, f := range fs {
		if f.col == col {
			return f, true
		}
	}
	return field{}, false
}

// Cursors: the default order's cursor is the last id (as it always was); a sorted list's is
// "sort NUL value NUL id", so a cursor used with another sort is recognised and refused.
func (p *listPlan) after(cursor string) error {
	if cursor == "" {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return errs.Field("cursor", "not a cursor from this API")
	}
	parts := strings.Split(string(raw), "\x00")
	made := ""
	if len(parts) == 3 {
		made = parts[0]
	} else if len(parts) != 1 {
		return errs.Field("cursor", "not a cursor from this API")
	}
	if made != p.sort {
		return store.BadQuery("cursor", "was made for %s, not %s: pass the same sort as the first page", sortLabel(made), sortLabel(p.sort))
	}
	id := parts[len(parts)-1]
	cmp := ">"
	if p.desc {
		cmp = "<"
	}
	if p.key == nil {
		p.where, p.args = append(p.where, p.sp.idCol()+" "+cmp+" ?"), append(p.args, id)
		return nil
	}
	var v any = parts[1]
	if !p.key.text {
		n, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return errs.Field("cursor", "not a cursor from this API")
		}
		v = n
	}
	p.where = append(p.where, "("+p.key.col+", "+p.sp.idCol()+") "+cmp+" (?, ?)")
	p.args = append(p.args, v, id)
	return nil
}

func sortLabel(s string) string {
	if s == "" {
		return "the default order"
	}
	return "sort=" + s
}

// orderBy is the ORDER BY clause.
func (p *listPlan) orderBy() string {
	dir := ""
	if p.desc {
		dir = " DESC"
	}
	if p.key == nil {
		return " ORDER BY " + p.sp.idCol() + dir
	}
	return " ORDER BY " + p.key.col + dir + ", " + p.sp.idCol() + dir
}

// sortCol is the column to select beside the row for the next cursor ("" for id order).
func (p *listPlan) sortCol() string {
	if p.key == nil {
		return ""
	}
	return p.key.col
}

// newSortValue is where the sort column of a row is scanned to.
func (p *listPlan) newSortValue() any {
	if p.key == nil {
		return nil
	}
	if p.key.text {
		return new(string)
	}
	return new(int64)
}

// readPage reads the rows of a list query that asked for limit+1 rows: scan reads one, its
// sort column into sv (nil in id order). It returns at most limit items and the cursor of the
// next page ("" on the last), made from the last item's id (idOf) and sort value.
func readPage[T any](p *listPlan, rows *sql.Rows, limit int, scan func(sv any) (T, error), idOf func(*T) string) ([]T, string, error) {
	out := make([]T, 0, min(limit+1, 64))
	var last any
	for rows.Next() {
		sv := p.newSortValue()
		v, err := scan(sv)
		if err != nil {
			return nil, "", err
		}
		if len(out) < limit {
			last = sv
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, p.next(idOf(&out[limit-1]), last), nil
}

// scanRow scans a list row into dst and, in a sorted list, its sort column into sv.
func scanRow(rows *sql.Rows, sv any, dst ...any) error {
	if sv != nil {
		dst = append(dst, sv)
	}
	return rows.Scan(dst...)
}

// next is the cursor after a row with this id and sort value.
func (p *listPlan) next(id string, v any) string {
	if p.sort == "" {
		return base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	var s string
	switch x := v.(type) {
	case *string:
		s = *x
	case *int64:
		s = strconv.FormatInt(*x, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(p.sort + "\x00" + s + "\x00" + id))
}

// likeCI is a case-insensitive substring match of col against one '?' bound to likePattern.
// SQLite's LIKE ignores ASCII case already (and its LOWER() folds nothing else), so LOWER()
// there only costs time (a fifth of a scan of 100,000 users); PostgreSQL's LIKE does not.
func (db *DB) likeCI(col string) string {
	if db.d.Name == "sqlite" {
		return col + " LIKE ? ESCAPE '\\'"
	}
	return "LOWER(" + col + ") LIKE ? ESCAPE '\\'"
}

// likePattern is a LIKE pattern matching s anywhere, case-insensitively (see likeCI), with
// LIKE's wildcards in s taken literally (ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// milli is an amount in minor units of a currency in thousandths of its major unit (the most
// fraction digits a currency has is three), so amounts of every currency share one scale.
func milli(minor int64, currency string) int64 {
	d, ok := money.Digits(currency)
	if !ok {
		d = 2
	}
	for ; d < 3; d++ {
		minor *= 10
	}
	return minor
}

// milliOrUnset is milli of an amount that may not be known yet (unrated), stored as -1: these
// amounts are never negative (a session's cost, a swap's charge), and a NOT NULL column sorts
// the same on both engines.
func milliOrUnset(v *int64, currency string) int64 {
	if v == nil {
		return -1
	}
	return milli(*v, currency)
}

// microsOrZero stores a time not reached yet (a running session's stop) as 0.
func microsOrZero(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return micros(*t)
}
