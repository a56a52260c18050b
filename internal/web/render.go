package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/money"
)

// view is what every page template gets: the signed-in user, the CSRF token for its forms,
// the messages left by the last POST, and the page's own data in D.
type view struct {
	Title   string
	Me      *session
	CSRF    string
	Flashes []flash
	Operate bool // may send commands and top up
	Staff   bool
	D       any
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ptime": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"kwh":   kwh,
	"kw":    func(w int64) string { return kw(w) },
	"kwp":   func(k *energy.KW) string { return kwLimit(k) },
	"money": func(m money.Money) string { return m.String() + " " + m.Currency },
	"minor": func(v int64, cur string) string { return money.FormatMinor(v, cur) + " " + cur },
	"cost": func(s charging.Session) string {
		if s.CostMinor == nil {
			return ""
		}
		return money.FormatMinor(*s.CostMinor, s.Currency) + " " + s.Currency
	},
	"operates": func(role string) bool { return account.RoleRank(role) >= account.RoleRank(account.RoleOperator) },
	"json":     func(b []byte) string { return prettyJSON(b) },
}

// kwh writes Wh as kWh (W as kW), exactly, with at most 3 decimals and none trailing.
func kwh(wh int64) string {
	sign := ""
	if wh < 0 {
		sign, wh = "-", -wh
	}
	s := fmt.Sprintf("%d.%03d", wh/1000, wh%1000)
	return sign + strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

func kw(w int64) string { return kwh(w) }

func kwLimit(k *energy.KW) string {
	if k == nil {
		return ""
	}
	return kw(int64(*k))
}

// parsePages parses each page with the layout, once, at start.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue // the layout and partials (_*.html) are parsed with every page
		}
		pages[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/_*.html", n))
	}
	return pages
}

// render writes a page. Rendering goes to a buffer first, so a template error becomes a 500
// and not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, page, title string, d any) {
	s := sessionFrom(r.Context())
	v := view{Title: title, Me: s, D: d}
	if s != nil {
		v.CSRF = s.CSRF
		v.Flashes = c.sessions.takeFlash(s.ID)
		v.Operate = canOperate(s)
		v.Staff = account.RoleRank(s.Role) > 0
	}
	c.exec(w, page, "layout", v)
}

// fragment writes one named block of a page (live sections re-fetched by the page's script).
func (c *Console) fragment(w http.ResponseWriter, r *http.Request, page, block string, d any) {
	s := sessionFrom(r.Context())
	v := view{Me: s, D: d, CSRF: s.CSRF, Operate: canOperate(s), Staff: true}
	c.exec(w, page, block, v)
}

func (c *Console) exec(w http.ResponseWriter, page, block string, v view) {
	t, ok := c.pages[page]
	if !ok {
		http.Error(w, "no page "+page, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		c.app.Log.Error("console template", "page", page, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
