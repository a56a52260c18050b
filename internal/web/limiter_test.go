package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlite"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// loginConsole mounts the console over a fresh SQLite store with two staff users whose
// password is "right password", and returns a login function that posts from address ip.
func loginConsole(t *testing.T, limits LoginLimits) func(ip, email, pw string) int {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "evcs.db"))
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(db, nil, nil)
	t.Cleanup(func() { a.Close(); db.Close() })
	hash, _ := app.HashSecret("right password")
	err = db.InTx(ctx, func(tx store.Tx) error {
		for i, email := range []string{"ann@example.com", "bob@example.com"} {
			u := account.User{ID: "usr_" + string(rune('a'+i)), UserFields: account.UserFields{Name: email, Email: email, Role: account.RoleOperator},
				PasswordHash: hash, Status: account.Active, CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := tx.Users().Create(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	c := Mount(r, a, Options{Limiter: NewLoginLimiter(limits)})
	t.Cleanup(c.Close)
	return func(ip, email, pw string) int {
		form := url.Values{"email": {email}, "password": {pw}, "csrf": {"tok"}}
		req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: loginCSRFCooke, Value: "tok"})
		req.RemoteAddr = ip + ":40000"
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
}

func TestLoginLockoutPerEmail(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	login := loginConsole(t, LoginLimits{MaxFailures: 3, Lockout: 10 * time.Minute, Now: clock.Now})
	const ip = "192.0.2.1"

	// Failures below the limit, then a success: the count starts over.
	for range 2 {
		if code := login(ip, "ann@example.com", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", code)
		}
	}
	if code := login(ip, "ann@example.com", "right password"); code != http.StatusSeeOther {
		t.Fatalf("right password after 2 failures: %d", code)
	}
	for range 2 {
		login(ip, "ann@example.com", "wrong")
	}
	if code := login(ip, "ann@example.com", "right password"); code != http.StatusSeeOther {
		t.Fatalf("a success did not reset the count: %d", code)
	}

	// Three in a row lock the address (spelt in any case): even the right password is refused
	// (429) without being checked, while another user signs in from the same client.
	for _, e := range []string{"ann@example.com", "ANN@example.com", " Ann@Example.COM"} {
		login(ip, e, "wrong")
	}
	if code := login(ip, "ann@example.com", "right password"); code != http.StatusTooManyRequests {
		t.Fatalf("locked e-mail: %d, want 429", code)
	}
	if code := login("198.51.100.7", "ann@example.com", "right password"); code != http.StatusTooManyRequests {
		t.Fatalf("locked e-mail from another address: %d, want 429", code)
	}
	if code := login(ip, "bob@example.com", "right password"); code != http.StatusSeeOther {
		t.Fatalf("another user during ann's lockout: %d", code)
	}
	clock.add(9 * time.Minute)
	if code := login(ip, "ann@example.com", "right password"); code != http.StatusTooManyRequests {
		t.Fatalf("still locked after 9 of 10 minutes: %d", code)
	}
	clock.add(2 * time.Minute)
	if code := login(ip, "ann@example.com", "right password"); code != http.StatusSeeOther {
		t.Fatalf("after the lockout: %d", code)
	}
}

func TestLoginLockoutPerAddress(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	login := loginConsole(t, LoginLimits{MaxFailures: 100, MaxIPFailures: 4, IPWindow: 5 * time.Minute, Lockout: 10 * time.Minute, Now: clock.Now})
	const sprayer, other = "203.0.113.9", "192.0.2.50"
	// One client trying many addresses, a few each: locked as a client.
	for i, email := range []string{"x1@example.com", "x2@example.com", "ann@example.com", "x3@example.com"} {
		if code := login(sprayer, email, "guess"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := login(sprayer, "bob@example.com", "right password"); code != http.StatusTooManyRequests {
		t.Fatalf("sprayer after 4 failures: %d, want 429", code)
	}
	if code := login(other, "bob@example.com", "right password"); code != http.StatusSeeOther {
		t.Fatalf("another client: %d", code)
	}
	// Failures spread beyond the window do not add up.
	clock.add(11 * time.Minute)
	for range 3 {
		login(sprayer, "x9@example.com", "guess")
		clock.add(2 * time.Minute)
	}
	clock.add(4 * time.Minute)
	login(sprayer, "x9@example.com", "guess")
	if code := login(sprayer, "bob@example.com", "right password"); code != http.StatusSeeOther {
		t.Fatalf("failures outside the window locked the client: %d", code)
	}
}

func TestNoLoginLimit(t *testing.T) {
	if !NoLoginLimit.Allow(httptest.NewRequest("POST", "/login", nil), "a@example.com") {
		t.Fatal("NoLoginLimit refused")
	}
}
