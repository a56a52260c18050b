package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/demo"
)

// TestDemoInBrowser is a newcomer's first minute: `serve --demo` starts, and within 60 s the
// console shows live charging sessions and a billed receipt. The screenshots it writes to
// docs/img illustrate the README's tour.
func TestDemoInBrowser(t *testing.T) {
	exe := findBrowser()
	if exe == "" {
		t.Skip("no Chromium found (install the Debian package chromium, or set EVCS_CHROMIUM): browser test skipped")
	}
	demo.MeterEvery = 500 * time.Millisecond // the demo's tempo, faster; 60 s holds at the real tempo too
	cfg := config.Config{Listen: "127.0.0.1:0", DB: "sqlite:" + filepath.Join(t.TempDir(), "demo.db"), Demo: true, LogFormat: "text", LogLevel: "warn",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20"}
	m := &Main{Cfg: cfg, Stderr: testWriter{t}}
	start := time.Now()
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	events, unsub := m.App.Bus.Subscribe(1024)
	defer unsub()

	actx, cancelAlloc := browserAllocator(t, exe)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Skipf("Chromium at %s does not start: %v", exe, err)
	}
	base := "http://" + m.Addr()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), demo.OperatorEmail),
		chromedp.SendKeys(chromedp.ID("password"), demo.OperatorPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("n-active")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Live sessions on the dashboard, updated without a reload.
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`Number(document.getElementById("n-active").textContent) > 0 && Number(document.getElementById("n-connected").textContent) >= 5`,
		chromedp.WithPollingInterval(200*time.Millisecond))); err != nil {
		t.Fatalf("no live sessions on the dashboard: %v", err)
	}
	shot(t, ctx, "demo-dashboard.png")

	// A billed session: its receipt page shows what it cost.
	var billed *charging.Session
	for billed == nil {
		select {
		case ev := <-events:
			if s, ok := ev.Data.(*charging.Session); ok && ev.Kind == "session.ended" && s.CostMinor != nil && *s.CostMinor > 0 {
				billed = s
			}
		case <-ctx.Done():
			t.Fatal("no billed session within 60 s of the demo's start")
		}
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/sessions/"+billed.ID+"/receipt"),
		chromedp.WaitVisible(chromedp.ID("receipt-total")),
	)
	if err != nil {
		t.Fatal(err)
	}
	total, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("receipt-total")))
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(*billed.CostMinor/100, 10) + "." + twoDigits(*billed.CostMinor%100)
	if !strings.Contains(total, want) {
		t.Errorf("receipt total %q, want the session's cost %s", total, want)
	}
	shot(t, ctx, "demo-receipt.png")
	t.Logf("live sessions and a billed receipt in the console %.1f s after start", time.Since(start).Seconds())
}

func twoDigits(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
