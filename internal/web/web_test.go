package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
)

func TestKWh(t *testing.T) {
	for wh, want := range map[int64]string{0: "0", 1: "0.001", 1500: "1.5", 12345: "12.345", 50000: "50", -250: "-0.25"} {
		if got := kwh(wh); got != want {
			t.Errorf("kwh(%d) = %q, want %q", wh, got, want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{"/stations/A": "/stations/A", "//evil.example": "", "https://evil.example": "", "/\\evil": "", "/login?x": "", "": ""} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestSessionStoreExpiry(t *testing.T) {
	st := newSessionStore(time.Hour, 10*time.Minute)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := st.create(&account.User{ID: "usr_1", UserFields: account.UserFields{Role: account.RoleOperator}}, t0)
	if got := st.get(s.ID, t0.Add(9*time.Minute)); got == nil || got.CSRF != s.CSRF {
		t.Fatal("session gone before its idle timeout")
	}
	if st.get(s.ID, t0.Add(20*time.Minute)) != nil {
		t.Error("session alive after 11 idle minutes")
	}
	s = st.create(&account.User{ID: "usr_1"}, t0)
	for i := 1; i <= 7; i++ { // used every 9 minutes: idle never, but the TTL ends it
		got := st.get(s.ID, t0.Add(time.Duration(i)*9*time.Minute))
		if (got != nil) != (i*9 <= 60) {
			t.Errorf("after %d min: alive=%v", i*9, got != nil)
		}
	}
	if st.get("unknown", t0) != nil {
		t.Error("unknown id resolves")
	}
}

func TestSecurityHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	securityHeaders(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	h := rec.Header()
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" ||
		h.Get("Referrer-Policy") != "same-origin" || h.Get("Cross-Origin-Opener-Policy") != "same-origin" || !strings.Contains(h.Get("Permissions-Policy"), "camera=()") {
		t.Errorf("headers = %v", h)
	}
	if csp := h.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestPagesParse(t *testing.T) {
	pages := parsePages()
	for _, p := range []string{"dashboard.html", "station.html", "session.html", "account.html", "me.html", "login.html", "tariff.html"} {
		if pages[p] == nil {
			t.Errorf("page %s missing", p)
		}
	}
}

func TestMeterChart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &charging.Session{StartedAt: t0, MeterStart: 1000}
	rs := []charging.Reading{
		{At: t0, Measurand: charging.EnergyImport, Milli: 1_000_000},
		{At: t0.Add(time.Minute), Measurand: charging.EnergyImport, Milli: 2_000_000},
		{At: t0.Add(time.Minute), Measurand: charging.EnergyImport, Phase: "L1", Milli: 9_000_000}, // per phase: left out
		{At: t0.Add(time.Minute), Measurand: charging.PowerImport, Milli: 11_000_000},
	}
	c := meterChart(s, rs)
	svg := string(c.SVG)
	if c.Points != 3 || !strings.Contains(svg, `class="energy"`) || !strings.Contains(svg, `class="power"`) || strings.Contains(svg, "style=") {
		t.Errorf("chart: %d points\n%s", c.Points, svg)
	}
	if meterChart(s, nil).SVG != "" {
		t.Error("chart without readings")
	}
	for v, want := range map[int64]int64{1: 1, 3: 5, 7: 10, 11: 20, 1234: 2000, 5000: 5000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", v, got, want)
		}
	}
}
