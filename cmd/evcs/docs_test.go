package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/httpapi"
)

// ---- the API reference page at /docs ----

// docsBase is where the API reference page of s is served. Until server.go mounts it, the test
// serves it from a router of its own in front of s (the page only needs /openapi.json beside it).
func docsBase(t *testing.T, s *testServer) string {
	t.Helper()
	res, err := http.Get(s.Base + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK && strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		return s.Base
	}
	t.Logf("GET /docs: %d from Main (not mounted in server.go yet): serving it through a proxy", res.StatusCode)
	target, _ := url.Parse(s.Base)
	r := chi.NewRouter()
	httpapi.MountDocs(r)
	r.Handle("/*", httputil.NewSingleHostReverseProxy(target))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDocsPageServed(t *testing.T) {
	s := startMain(t, "sqlite:"+filepath.Join(t.TempDir(), "evcs.db"))
	base := docsBase(t, s)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		// No Authorization header: the page is public, like /openapi.json.
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/docs", "text/html", `src="/docs/docs.js"`},
		{"/docs/docs.js", "text/javascript", `fetch("/openapi.json"`},
		{"/docs/docs.css", "text/css", ".op"},
	} {
		res, body := get(tc.path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.ctype)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
			t.Errorf("GET %s: CSP %q should allow only this server's scripts", tc.path, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.path)
		}
	}
	if res, _ := get("/docs/nothing-here.js"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /docs/nothing-here.js: %d, want 404", res.StatusCode)
	}
	// The HTML has no inline script or style: CSP forbids them.
	_, html := get("/docs")
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(html) || strings.Contains(html, "style=") || regexp.MustCompile(`\son[a-z]+=`).MatchString(html) {
		t.Error("index.html has an inline script, style or event handler")
	}
}

// TestDocsPageOffline: nothing in the embedded files points outside the server, so the page
// works without internet access.
func TestDocsPageOffline(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "httpapi", "docs")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		t.Fatal("no embedded docs files")
	}
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|https?://`)
	attr := regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"([^"]*)"`)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if m := external.FindString(line); m != "" {
				t.Errorf("%s:%d refers to %q (the page must work offline)", e.Name(), n, m)
			}
			for _, m := range attr.FindAllStringSubmatch(line, -1) {
				if u := m[1]; !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "#") {
					t.Errorf("%s:%d: link %q is not on this server", e.Name(), n, u)
				}
			}
			if strings.Contains(line, "@import") || strings.Contains(line, "url(") {
				t.Errorf("%s:%d loads a stylesheet resource: %s", e.Name(), n, line)
			}
		}
	}
}

// TestDocsPageBrowser loads /docs in headless Chromium and checks that every operation of
// /openapi.json is rendered, with its anchor, and that the search box filters them.
func TestDocsPageBrowser(t *testing.T) {
	exe := findBrowser()
	if exe == "" {
		t.Skip("no Chromium found (install the Debian package chromium, or set EVCS_CHROMIUM): browser test skipped")
	}
	s := startMain(t, "sqlite:"+filepath.Join(t.TempDir(), "evcs.db"))
	base := docsBase(t, s)

	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	s.must(200, "GET", "/openapi.json", nil, &spec)
	want := 0
	for _, item := range spec.Paths {
		for m := range item {
			switch m {
			case "get", "post", "put", "patch", "delete":
				want++
			}
		}
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Skipf("Chromium at %s does not start: %v", exe, err)
	}
	sel := `[data-method="POST"][data-path="/api/v1/sites"]`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/docs#op-create-site"),
		chromedp.WaitReady(chromedp.CSS(sel)),
	); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("POST /api/v1/sites not rendered: %v\n%.2000s", err, html)
	}
	eval := func(expr string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return n
	}
	if got := eval(`document.querySelectorAll("details.op").length`); got != want {
		t.Errorf("%d operations rendered, /openapi.json has %d", got, want)
	}
	if got := eval(`document.querySelectorAll("details.op[id^='op-']").length`); got != want {
		t.Errorf("%d operations have an anchor, want %d", got, want)
	}
	// The anchor in the URL opened its operation, which shows its request body and role.
	if eval(`document.getElementById("op-create-site").open ? 1 : 0`) != 1 {
		t.Error("#op-create-site did not open its operation")
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#op-create-site .body")))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Request body", "time_zone", "201", "422"} {
		if !strings.Contains(body, w) {
			t.Errorf("create-site lacks %q:\n%s", w, body)
		}
	}
	if eval(`document.querySelectorAll("h2.tag").length`) < 5 {
		t.Error("operations are not grouped by tag")
	}
	// Search: only the matching operations stay visible.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("search"), "tariffs/price")); err != nil {
		t.Fatal(err)
	}
	visible := eval(`Array.from(document.querySelectorAll("details.op")).filter(e => !e.hidden).length`)
	if visible != 1 {
		t.Errorf("search tariffs/price leaves %d operations visible, want 1", visible)
	}
}

// ---- the billing guide's worked examples ----

// TestBillingGuideExamples prices every example under docs/examples and compares the result
// with the table that docs/billing-guide.md shows for it (after a "<!-- priced: NAME -->"
// marker), so the guide cannot drift from the rating engine.
func TestBillingGuideExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "docs")
	guide, err := os.ReadFile(filepath.Join(dir, "billing-guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]map[string][2]string{}
	marker := regexp.MustCompile(`<!-- priced: ([a-z0-9-]+) -->`)
	row := regexp.MustCompile("^\\|\\s*`(total_[a-z_]+)`\\s*\\|\\s*([^|]*?)\\s*\\|\\s*([^|]*?)\\s*\\|")
	lines := strings.Split(string(guide), "\n")
	for i := 0; i < len(lines); i++ {
		m := marker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		rows := map[string][2]string{}
		for i++; i < len(lines) && (strings.HasPrefix(lines[i], "|") || strings.TrimSpace(lines[i]) == "" && len(rows) == 0); i++ {
			if r := row.FindStringSubmatch(lines[i]); r != nil {
				rows[r[1]] = [2]string{r[2], r[3]}
			}
		}
		if len(rows) == 0 {
			t.Errorf("billing-guide.md: no table after the marker of %s", m[1])
		}
		tables[m[1]] = rows
	}
	files, _ := filepath.Glob(filepath.Join(dir, "examples", "*-tariff.json"))
	if len(files) == 0 {
		t.Fatal("no docs/examples/*-tariff.json")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), "-tariff.json")
		t.Run(name, func(t *testing.T) {
			rows, ok := tables[name]
			if !ok {
				t.Fatalf("billing-guide.md shows no priced table for docs/examples/%s-*.json", name)
			}
			out, err := runTariffPrice(f, filepath.Join(dir, "examples", name+"-cdr.json"), "")
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			fields := make([]string, 0, len(rows))
			for f := range rows {
				fields = append(fields, f)
			}
			sort.Strings(fields)
			for _, field := range fields {
				want := rows[field]
				var amt struct {
					Excl *json.Number `json:"excl_vat"`
					Incl *json.Number `json:"incl_vat"`
				}
				var gotExcl, gotIncl string
				if err := json.Unmarshal(got[field], &amt); err == nil && amt.Excl != nil {
					gotExcl, gotIncl = money2(amt.Excl), "—"
					if amt.Incl != nil {
						gotIncl = money2(amt.Incl)
					}
				} else {
					var n json.Number // a volume: total_energy, total_time, total_parking_time
					if err := json.Unmarshal(got[field], &n); err != nil {
						t.Fatalf("%s: %s", field, got[field])
					}
					gotExcl, gotIncl = n.String(), ""
				}
				if gotExcl != want[0] || gotIncl != want[1] {
					t.Errorf("%s: evcs tariff price says %q / %q, the guide says %q / %q", field, gotExcl, gotIncl, want[0], want[1])
				}
			}
		})
	}
}

// money2 writes an amount the way the guide does: two decimals (EUR).
func money2(n *json.Number) string {
	s := n.String()
	whole, frac, _ := strings.Cut(s, ".")
	return whole + "." + (frac + "00")[:2]
}

// TestDocsLinks checks that every relative link of docs/*.md names a file that exists and,
// with a #fragment, a heading of that file (GitHub's anchor rules: lower case, punctuation
// dropped, spaces to hyphens).
func TestDocsLinks(t *testing.T) {
	dir := filepath.Join("..", "..", "docs")
	pages, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	if len(pages) == 0 {
		t.Fatal("no docs/*.md")
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading := regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	anchors := func(file string) map[string]bool {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil
		}
		out := map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
			var sb strings.Builder
			for _, r := range strings.ToLower(strings.TrimSpace(m[1])) {
				switch {
				case r == ' ':
					sb.WriteRune('-')
				case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
					sb.WriteRune(r)
				}
			}
			out[sb.String()] = true
		}
		return out
	}
	for _, page := range pages {
		b, _ := os.ReadFile(page)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %s: %v", filepath.Base(page), target, err)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(path, ".md") && !anchors(path)[frag] {
				t.Errorf("%s: link %s: no heading #%s in %s", filepath.Base(page), target, frag, filepath.Base(path))
			}
		}
	}
}
