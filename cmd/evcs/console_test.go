package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// ---- the console over plain HTTP (both stores) ----

// consoleClient is a browser without JavaScript: a cookie jar and the last page's CSRF token.
type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (s *testServer) consoleClient() *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: s.t, base: s.Base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (cc *consoleClient) do(req *http.Request) (int, string, *http.Response) {
	cc.t.Helper()
	res, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		cc.csrf = string(m[1])
	}
	return res.StatusCode, string(b), res
}

func (cc *consoleClient) get(path string) (int, string) {
	cc.t.Helper()
	req, _ := http.NewRequest("GET", cc.base+path, nil)
	code, body, _ := cc.do(req)
	return code, body
}

// post sends a form with the last page's CSRF token unless the form has its own "csrf".
func (cc *consoleClient) post(path string, form url.Values) (int, string) {
	cc.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", cc.csrf)
	}
	req, _ := http.NewRequest("POST", cc.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, body, _ := cc.do(req)
	return code, body
}

func (cc *consoleClient) login(email, password string) (int, string) {
	cc.t.Helper()
	cc.get("/login")
	return cc.post("/login", url.Values{"email": {email}, "password": {password}})
}

// user creates a console user with a password over the API; it returns the user.
func (s *testServer) user(role, email string) obj {
	s.t.Helper()
	var u obj
	s.must(201, "POST", "/api/v1/users", obj{"name": strings.ToUpper(role[:1]) + role[1:] + " " + email[:3], "email": email, "role": role, "password": "correct horse battery"}, &u)
	return u
}

func TestConsoleLoginLogout(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		s.user("operator", "op@example.com")
		cc := s.consoleClient()
		code, body := cc.get("/")
		if code != 200 || !strings.Contains(body, `action="/login"`) {
			t.Fatalf("/ without a login: %d, want the sign-in form", code)
		}
		// The login form's own CSRF token is required.
		if code, _ := cc.post("/login", url.Values{"email": {"op@example.com"}, "password": {"correct horse battery"}, "csrf": {"forged"}}); code != 403 {
			t.Errorf("login with a forged CSRF token: %d, want 403", code)
		}
		if code, body := cc.login("op@example.com", "wrong password"); code != 401 || !strings.Contains(body, "Wrong e-mail or password") {
			t.Errorf("wrong password: %d", code)
		}
		if code, _ := cc.login("nobody@example.com", "correct horse battery"); code != 401 {
			t.Errorf("unknown user: %d, want 401", code)
		}
		code, body = cc.login("op@example.com", "correct horse battery")
		if code != 200 || !strings.Contains(body, "<h1>Dashboard") {
			t.Fatalf("login: %d %.300s", code, body)
		}
		res, err := cc.c.Get(s.Base + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP = %q", csp)
		}
		u, _ := url.Parse(s.Base)
		var sess *http.Cookie
		for _, c := range cc.c.Jar.Cookies(u) {
			if c.Name == "evcs_session" {
				sess = c
			}
		}
		if sess == nil {
			t.Fatal("no session cookie")
		}
		// Logging out ends the session on the server: the old cookie no longer works.
		if code, body := cc.post("/logout", url.Values{}); code != 200 || !strings.Contains(body, `action="/login"`) {
			t.Fatalf("logout: %d", code)
		}
		req, _ := http.NewRequest("GET", s.Base+"/sites", nil)
		req.AddCookie(&http.Cookie{Name: "evcs_session", Value: sess.Value})
		res, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("old cookie after logout: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if code, _ := cc.get("/events"); code != 401 {
			t.Errorf("/events signed out: %d, want 401", code)
		}
	})
}

func TestConsoleCSRFAndRoles(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		acc := s.fleet("TAG-ROLES", "ROLE-1")
		s.user("operator", "op@example.com")
		s.user("viewer", "view@example.com")

		op := s.consoleClient()
		op.login("op@example.com", "correct horse battery")
		code, body := op.get("/accounts/" + acc)
		if code != 200 || !strings.Contains(body, `id="form-topup"`) {
			t.Fatalf("operator's account page: %d, no top-up form", code)
		}
		idem := regexp.MustCompile(`name="idem" value="([^"]+)"`).FindStringSubmatch(body)[1]
		form := func(csrf string) url.Values {
			return url.Values{"amount": {"10.00"}, "method": {"counter"}, "idem": {idem}, "csrf": {csrf}}
		}
		for _, bad := range []string{"", "forged"} {
			if code, _ := op.post("/accounts/"+acc+"/topups", form(bad)); code != 403 {
				t.Errorf("top-up with CSRF token %q: %d, want 403", bad, code)
			}
		}
		if b := s.balance(acc); b != "0.00" {
			t.Fatalf("a refused POST moved money: balance %s", b)
		}
		// The same form submitted twice tops up once.
		for range 2 {
			if code, body := op.post("/accounts/"+acc+"/topups", form(op.csrf)); code != 200 || !strings.Contains(body, "10.00 EUR") {
				t.Fatalf("top-up: %d %.300s", code, body)
			}
		}
		if b := s.balance(acc); b != "10.00" {
			t.Errorf("balance after a double submit = %s, want 10.00", b)
		}

		viewer := s.consoleClient()
		viewer.login("view@example.com", "correct horse battery")
		code, body = viewer.get("/stations/ROLE-1")
		if code != 200 || strings.Contains(body, "Remote start") || strings.Contains(body, `value="reset"`) {
			t.Errorf("viewer's station page: %d, shows command buttons", code)
		}
		if _, body := viewer.get("/accounts/" + acc); strings.Contains(body, `id="form-topup"`) {
			t.Error("viewer sees the top-up form")
		}
		if code, _ := viewer.post("/stations/ROLE-1/commands", url.Values{"kind": {"reset"}}); code != 403 {
			t.Errorf("viewer's command: %d, want 403", code)
		}
		if code, _ := viewer.post("/accounts/"+acc+"/topups", url.Values{"amount": {"5.00"}, "method": {"counter"}, "idem": {"viewer-1"}}); code != 403 {
			t.Errorf("viewer's top-up: %d, want 403", code)
		}
		for _, p := range []string{"/", "/sites", "/stations", "/sessions", "/purchasers", "/tokens", "/vehicles", "/tariffs", "/accounts/" + acc} {
			if code, _ := viewer.get(p); code != 200 {
				t.Errorf("viewer GET %s: %d", p, code)
			}
		}
		// Tariffs: the JSON view and a price preview (viewers may preview: it stores nothing).
		var tar obj
		s.must(201, "POST", "/api/v1/tariffs", touTariff, &tar)
		if code, body := viewer.get("/tariffs/" + tar["id"].(string)); code != 200 || !strings.Contains(body, `id="tariff-json"`) {
			t.Errorf("tariff page: %d", code)
		}
		cdr := `{"currency":"EUR","start_date_time":"2026-11-24T16:30:00Z","end_date_time":"2026-11-24T17:30:00Z","charging_periods":[{"start_date_time":"2026-11-24T16:30:00Z","dimensions":[{"type":"ENERGY","volume":10}]}],"total_energy":10,"total_time":1}`
		if code, body := viewer.post("/tariffs/"+tar["id"].(string)+"/preview", url.Values{"cdr": {cdr}, "time_zone": {"Europe/Amsterdam"}}); code != 200 || !strings.Contains(body, "total_cost") {
			t.Errorf("price preview: %d %.400s", code, body)
		}
		if code, _ := viewer.post("/tariffs/"+tar["id"].(string)+"/preview", url.Values{"cdr": {"{}"}}); code != 422 {
			t.Errorf("price preview of a bad CDR: %d, want 422", code)
		}
		// A command to a station that is not connected is refused and said so on the page.
		if code, body := op.post("/stations/ROLE-1/commands", url.Values{"kind": {"reset"}, "reset_type": {"soft"}}); code != 200 || !strings.Contains(body, "not connected") {
			t.Errorf("command to an offline station: %d, no message", code)
		}
		if b := s.balance(acc); b != "10.00" {
			t.Errorf("balance = %s", b)
		}
	})
}

// chargeOnce runs one short session for tag at a simulated station and returns the session id.
func (s *testServer) chargeOnce(station, tag string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sim.NewStation(simConfig(s, ocppj.V16, tag), station)
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	if err := st.Connect(ctx); err != nil {
		s.t.Fatal(err)
	}
	if _, err := st.Boot(ctx); err != nil {
		s.t.Fatal(err)
	}
	tx, err := st.StartCharging(ctx, 1, tag)
	if err != nil {
		s.t.Fatal(err)
	}
	for range 2 {
		if _, err := st.SendMeterValues(ctx, 1); err != nil {
			s.t.Fatal(err)
		}
	}
	if _, err := st.StopCharging(ctx, 1, "Local"); err != nil {
		s.t.Fatal(err)
	}
	return s.session(station, txRef(ocppj.V16, tx))["id"].(string)
}

func TestConsolePurchaserSelfService(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		accA := s.fleet("TAG-A", "SELF-1")
		var b obj
		s.must(201, "POST", "/api/v1/users", obj{"name": "Bea", "email": "bea@example.com", "role": "purchaser", "password": "correct horse battery"}, &b)
		accB := b["account_id"].(string)
		s.must(200, "PATCH", "/api/v1/accounts/"+accB, obj{"credit_limit": "100.00"}, nil)
		s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": "TAG-B", "type": "ISO14443", "account_id": accB}, nil)
		var users struct{ Items []obj }
		s.must(200, "GET", "/api/v1/users?email=TAG-A@example.com", nil, &users)
		s.must(200, "PATCH", "/api/v1/users/"+users.Items[0]["id"].(string), obj{"password": "correct horse battery"}, nil)
		sesA := s.chargeOnce("SELF-1", "TAG-A")
		sesB := s.chargeOnce("SELF-1", "TAG-B")

		pb := s.consoleClient()
		if code, body := pb.login("bea@example.com", "correct horse battery"); code != 200 || !strings.Contains(body, "My account") {
			t.Fatalf("purchaser login: %d %.300s", code, body)
		}
		if code, _ := pb.get("/sessions/" + sesB); code != 200 {
			t.Errorf("own session: %d", code)
		}
		if code, _ := pb.get("/sessions/" + sesB + "/receipt"); code != 200 {
			t.Errorf("own receipt: %d", code)
		}
		for _, p := range []string{"/sessions/" + sesA, "/sessions/" + sesA + "/receipt", "/sessions/ses_nonexistent"} {
			if code, body := pb.get(p); code != 404 || strings.Contains(body, "TAG-A") {
				t.Errorf("purchaser GET %s: %d, want 404", p, code)
			}
		}
		if _, body := pb.get("/me"); strings.Contains(body, sesA) || strings.Contains(body, accA) || !strings.Contains(body, sesB) {
			t.Error("/me shows another purchaser's data or misses own session")
		}
		for _, p := range []string{"/sessions", "/stations", "/purchasers", "/events"} {
			if code, _ := pb.get(p); code != 403 {
				t.Errorf("purchaser GET %s: %d, want 403", p, code)
			}
		}
		// Account pages: another's is "not found"; one's own is /me.
		if code, body := pb.get("/accounts/" + accA); code != 404 || strings.Contains(body, "TAG-A") {
			t.Errorf("purchaser GET another's account: %d, want 404", code)
		}
		if code, body := pb.get("/accounts/" + accB); code != 200 || !strings.Contains(body, "My account") {
			t.Errorf("purchaser GET own account: %d, want /me", code)
		}
		// Another purchaser's token cannot be blocked from here.
		var toks struct{ Items []obj }
		s.must(200, "GET", "/api/v1/id-tokens?uid=TAG-A", nil, &toks)
		pb.get("/me")
		if code, _ := pb.post("/me/tokens/"+toks.Items[0]["id"].(string)+"/status", url.Values{"status": {"blocked"}}); code != 404 {
			t.Errorf("blocking another purchaser's token: %d, want 404", code)
		}
		// Own tokens and vehicles.
		if code, body := pb.post("/me/tokens", url.Values{"uid": {"TAG-B2"}, "label": {"spare card"}}); code != 200 || !strings.Contains(body, "TAG-B2") {
			t.Errorf("add own token: %d", code)
		}
		if code, body := pb.post("/me/vehicles", url.Values{"plate": {"B-EV-1"}, "make": {"Kia"}}); code != 200 || !strings.Contains(body, "B-EV-1") {
			t.Errorf("add own vehicle: %d", code)
		}
		// Top-up through the payment provider: offered only when one is configured.
		before := s.balance(accB)
		if _, body := pb.get("/me"); strings.Contains(body, `id="form-topup"`) {
			t.Error("top-up offered without a payment provider")
		}
		provider := app.NewTestProvider()
		s.M.App.SetPaymentProvider("card", provider)
		_, body := pb.get("/me")
		idem := regexp.MustCompile(`name="idem" value="([^"]+)"`).FindStringSubmatch(body)
		if idem == nil {
			t.Fatal("no top-up form with a provider")
		}
		for range 2 {
			if code, _ := pb.post("/me/topups", url.Values{"amount": {"15.00"}, "method": {"card"}, "idem": {idem[1]}}); code != 200 {
				t.Fatalf("purchaser top-up: %d", code)
			}
		}
		if code, _ := pb.post("/me/topups", url.Values{"amount": {"15.00"}, "method": {"counter"}, "idem": {"x"}}); code != 200 {
			t.Fatalf("counter top-up by a purchaser: %d", code)
		}
		after := s.balance(accB)
		if want := addMoney(t, before, "15.00"); after != want || len(provider.Calls()) != 1 {
			t.Errorf("balance %s → %s, want %s; provider calls %d, want 1", before, after, want, len(provider.Calls()))
		}
		if s.balance(accA) != "0.00" && s.balance(accA) == after {
			t.Error("the top-up reached another account")
		}
	})
}

func addMoney(t *testing.T, a, b string) string {
	var x, y float64
	fmt.Sscan(a, &x)
	fmt.Sscan(b, &y)
	return fmt.Sprintf("%.2f", x+y)
}

// ---- the console in a real browser (SQLite) ----

func findBrowser() string {
	if p := os.Getenv("EVCS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserAllocator starts headless Chromium as this machine allows it: no sandbox (root), and
// no background networking (the network is closed; Chromium would retry endlessly).
func browserAllocator(t *testing.T, exe string) (context.Context, context.CancelFunc) {
	return chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
}

// TestConsoleBrowser signs in through the form, watches the dashboard update live as a
// simulated station charges, stops the session from the station page, tops up from the account
// page, and writes screenshots of the dashboard and the session page to docs/img.
func TestConsoleBrowser(t *testing.T) {
	exe := findBrowser()
	if exe == "" {
		t.Skip("no Chromium found (install the Debian package chromium, or set EVCS_CHROMIUM): browser test skipped")
	}
	s := startMain(t, "sqlite:"+filepath.Join(t.TempDir(), "evcs.db"))
	acc := s.fleet("TAG-UI", "UI-1")
	var sites struct{ Items []obj }
	s.must(200, "GET", "/api/v1/sites", nil, &sites)
	s.must(200, "PATCH", "/api/v1/sites/"+sites.Items[0]["id"].(string), obj{"grid_limit_kw": 50}, nil)
	s.user("operator", "op@example.com")

	actx, cancelAlloc := browserAllocator(t, exe)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Skipf("Chromium at %s does not start: %v", exe, err)
	}
	wait := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var err error
		for {
			_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(100*time.Millisecond)))
			// A form submit navigates while the poll runs: poll again in the new page.
			if err == nil || time.Now().After(deadline) || !(strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "context was destroyed") || strings.Contains(err.Error(), "Cannot find context")) {
				break
			}
		}
		if err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("waiting for %s (%s): %v\npage: %.2000s", what, expr, err, html)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("..", "..", "docs", "img")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Sign in through the form.
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Base+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "op@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("n-connected")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text("#n-connected"); got != "0" {
		t.Fatalf("stations online before the station connects = %q", got)
	}
	// A marker in the page's JavaScript state: a reload would lose it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("window.evcsNoReload = true")); err != nil {
		t.Fatal(err)
	}
	wait("the live stream", `document.body.dataset.live === "on"`)

	// A simulated station connects and charges: the dashboard follows without a reload.
	sctx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	cfg := simConfig(s, ocppj.V16, "TAG-UI")
	st, err := sim.NewStation(cfg, "UI-1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	go st.Run(sctx) //nolint:errcheck // ends with sctx
	if err := st.WaitOnline(sctx); err != nil {
		t.Fatal(err)
	}
	wait("the station online", `document.getElementById("n-connected").textContent === "1"`)
	tx, err := st.StartCharging(sctx, 1, "TAG-UI")
	if err != nil || tx.AuthStatus != "Accepted" {
		t.Fatalf("start: %+v %v", tx, err)
	}
	for range 3 {
		if _, err := st.SendMeterValues(sctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	wait("one active session", `document.getElementById("n-active").textContent === "1"`)
	wait("energy today", `document.getElementById("n-energy").textContent !== "0"`)
	wait("site power", `document.querySelector("#sites .site-power").textContent !== "0"`)
	wait("charging connector", `!!document.querySelector("#stations .s-Charging")`)
	wait("no reload", `window.evcsNoReload === true`)
	shot("console-dashboard.png")

	// Remote stop from the station page; the session ends on the page without a reload.
	ses := s.session("UI-1", txRef(ocppj.V16, tx))
	sesID := ses["id"].(string)
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.Base+"/stations/UI-1"),
		chromedp.WaitVisible(chromedp.CSS("button.stop")),
		chromedp.Click(chromedp.CSS("button.stop")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text("p.flash"); got != "remote_stop: Accepted" {
		t.Fatalf("remote stop: %q", got)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("window.evcsNoReload = true")); err != nil {
		t.Fatal(err)
	}
	wait("the session ended", fmt.Sprintf(`!!document.querySelector('#recent-sessions tr[data-session=%q][data-status="completed"]') && !!document.getElementById("no-active") && window.evcsNoReload === true`, sesID))
	if got := s.session("UI-1", txRef(ocppj.V16, tx))["status"]; got != "completed" {
		t.Fatalf("session status = %v", got)
	}

	// The session page with its meter chart.
	err = chromedp.Do(ctx, chromedp.Navigate(s.Base+"/sessions/"+sesID), chromedp.WaitVisible(chromedp.CSS("#meter-chart svg polyline.energy")))
	if err != nil {
		t.Fatal(err)
	}
	if got := text("#session-status"); got != "completed" {
		t.Errorf("session page status = %q", got)
	}
	shot("console-session.png")

	// Top up from the account page.
	before := s.balance(acc)
	want := addMoney(t, before, "25.00")
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.Base+"/accounts/"+acc),
		chromedp.WaitVisible(chromedp.ID("topup-amount")),
		chromedp.SendKeys(chromedp.ID("topup-amount"), "25.00"),
		chromedp.Click(chromedp.ID("topup-submit")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	if err != nil {
		t.Fatal(err)
	}
	wait("the new balance", fmt.Sprintf(`document.getElementById("balance") && document.getElementById("balance").textContent === %q`, want+" EUR"))
	if got := s.balance(acc); got != want {
		t.Errorf("balance over the API = %s, want %s", got, want)
	}
	stopSim()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("browser test timed out")
	}
}

// TestConsoleReportDownload charges a few sessions at two stations, fills in the reports page
// in a real browser (energy by day and station, in Amsterdam time), clicks "Download CSV", waits
// for the browser's download-complete event and checks every row of the saved file against
// sums computed here from the sessions the API lists.
func TestConsoleReportDownload(t *testing.T) {
	exe := findBrowser()
	if exe == "" {
		t.Skip("no Chromium found (install the Debian package chromium, or set EVCS_CHROMIUM): browser test skipped")
	}
	s := startMain(t, "sqlite:"+filepath.Join(t.TempDir(), "evcs.db"))
	s.fleet("TAG-RPT", "RPT-1", "RPT-2")
	for _, st := range []string{"RPT-1", "RPT-2", "RPT-1"} {
		s.chargeOnce(st, "TAG-RPT")
	}
	s.user("viewer", "viewer@example.com")

	// The figures, from the raw sessions.
	loc, _ := time.LoadLocation("Europe/Amsterdam")
	now := time.Now().In(loc)
	from, to := now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, 1).Format(time.DateOnly)
	var page struct{ Items []obj }
	s.must(200, "GET", "/api/v1/sessions?limit=500", nil, &page)
	want := map[string][3]int64{}
	for _, ses := range page.Items {
		started, err := time.Parse(time.RFC3339, ses["started_at"].(string))
		if err != nil || ses["status"] != "completed" {
			t.Fatalf("session %v: %v", ses, err)
		}
		k := started.In(loc).Format(time.DateOnly) + "," + ses["station_id"].(string)
		w := want[k]
		w[0]++
		w[1] += int64(ses["energy_wh"].(float64))
		w[2] += int64(ses["exported_wh"].(float64))
		want[k] = w
	}
	if len(page.Items) != 3 || len(want) < 2 {
		t.Fatalf("sessions: %v", page.Items)
	}

	actx, cancelAlloc := browserAllocator(t, exe)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Skipf("Chromium at %s does not start: %v", exe, err)
	}
	dir := t.TempDir()
	if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Base+"/reports"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "viewer@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("report-form")),
		chromedp.SetValue(chromedp.ID("report-name"), "energy"),
		chromedp.SetValue(chromedp.ID("report-from"), from),
		chromedp.SetValue(chromedp.ID("report-to"), to),
		chromedp.SetValue(chromedp.ID("report-group"), "day,station"),
		chromedp.SetValue(chromedp.ID("report-tz"), "Europe/Amsterdam"),
		chromedp.Click(chromedp.ID("report-run")),
		chromedp.WaitVisible(chromedp.ID("download-csv")),
	)
	if err != nil {
		t.Fatal(err)
	}
	done, err := chromedp.Run(ctx, chromedp.WaitEvent(browser.DownloadProgress, func(e browser.EventDownloadProgress) bool {
		return e.State == browser.DownloadProgressStateCompleted || e.State == browser.DownloadProgressStateCanceled
	}, chromedp.Click(chromedp.ID("download-csv"))))
	if err != nil {
		t.Fatal(err)
	}
	if done.State != browser.DownloadProgressStateCompleted {
		t.Fatalf("download: %+v", done)
	}
	f, err := os.Open(filepath.Join(dir, done.GUID)) // allowAndName saves under the download's id
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "day,station_id,sessions,energy_wh,exported_wh" {
		t.Fatalf("CSV header: %v", rows)
	}
	if len(rows)-1 != len(want) {
		t.Errorf("CSV has %d rows, want %d: %v", len(rows)-1, len(want), rows)
	}
	for _, r := range rows[1:] {
		w, ok := want[r[0]+","+r[1]]
		if !ok || r[2] != strconv.FormatInt(w[0], 10) || r[3] != strconv.FormatInt(w[1], 10) || r[4] != strconv.FormatInt(w[2], 10) {
			t.Errorf("CSV row %v, want %v", r, w)
		}
	}
}
