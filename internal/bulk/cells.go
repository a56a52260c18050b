package bulk

import (
	"strconv"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
)

// cells reads one row's values by column name and collects what is wrong with them.
type cells struct {
	line int
	idx  map[string]int
	vals []string
	bad  []app.RowError
}

func (c *cells) fail(col, format string, args ...any) {
	c.bad = append(c.bad, app.RowError{Line: c.line, Field: col, Message: errs.E(errs.Invalid, format, args...).Msg})
}

// raw is a cell as written (names and labels keep their spaces).
func (c *cells) raw(col string) string {
	i, ok := c.idx[col]
	if !ok || i >= len(c.vals) {
		return ""
	}
	return c.vals[i]
}

// str is a cell without surrounding spaces (ids, codes, enums, numbers).
func (c *cells) str(col string) string { return strings.TrimSpace(c.raw(col)) }

func (c *cells) boolean(col string) bool {
	switch strings.ToLower(c.str(col)) {
	case "", "false", "no", "0":
		return false
	case "true", "yes", "1":
		return true
	}
	c.fail(col, "%q is not true or false", c.str(col))
	return false
}

func (c *cells) integer(col string) int64 {
	s := c.str(col)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		c.fail(col, "%q is not a whole number", s)
	}
	return n
}

func (c *cells) kw(col string) *energy.KW {
	s := c.str(col)
	if s == "" {
		return nil
	}
	w, err := energy.ParseKW(s)
	if err != nil {
		c.fail(col, "%s", errs.Message(err))
		return nil
	}
	k := energy.KW(w)
	return &k
}

func (c *cells) time(col string) *time.Time {
	s := c.str(col)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		c.fail(col, "%q is not an RFC 3339 time such as 2026-01-31T23:00:00Z", s)
		return nil
	}
	t = t.UTC()
	return &t
}

// list reads a ';'-separated list.
func (c *cells) list(col string) []string {
	s := c.str(col)
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Writing: one canonical text per value, so that export → import → export is byte-identical.

func fmtKW(k *energy.KW) string {
	if k == nil {
		return ""
	}
	b, _ := k.MarshalJSON()
	return string(b)
}

func fmtInt(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func fmtBool(b bool) string { return strconv.FormatBool(b) }

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
