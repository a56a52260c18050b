// Package web is the operator console: server-rendered pages (html/template), a little vanilla
// JavaScript and CSS, all embedded, served on the one HTTP listener next to the REST API.
//
// Who sees what: staff (viewer, operator, admin) see the whole operation; viewers get no
// command or top-up buttons and their POSTs are refused (403). Purchasers see only their own
// account, sessions and receipts, top up through the payment provider and manage their own
// tokens and vehicles; anything else of another purchaser answers 404.
//
// Login sessions are kept server-side in memory (see session.go); every POST carries the
// session's CSRF token in a hidden field; /events streams live updates (Server-Sent Events) fed
// by App.Bus (see events.go).
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options tune the console. Zero values take the defaults noted.
type Options struct {
	// SessionTTL is how long a login lasts at most (default 12h); IdleTimeout ends it earlier
	// when unused (default 2h).
	SessionTTL, IdleTimeout time.Duration
	// Limiter is asked before every login attempt and told its outcome. Nil takes
	// NewLoginLimiter's defaults (an e-mail locked for 15 minutes after 5 wrong passwords in a
	// row, a client address after 50 failures in 15 minutes); NoLoginLimit allows every attempt.
	Limiter LoginLimiter
	// PurchaserTopUpMethods are the top-up methods purchasers may use themselves, in order of
	// preference; only those with a payment provider registered in the App are offered
	// (default: "card"). Staff methods (counter, card terminal, …) are for operators.
	PurchaserTopUpMethods []string
	// Debounce is how long the live view gathers events before sending a new dashboard
	// (default 250ms).
	Debounce time.Duration
}

// LoginLimiter decides whether a login attempt may proceed and learns its outcome.
type LoginLimiter interface {
	Allow(r *http.Request, email string) bool
	Result(r *http.Request, email string, ok bool)
}

// Console is the mounted console.
type Console struct {
	app      *app.App
	opts     Options
	sessions *sessionStore
	pages    map[string]*template.Template
	static   http.Handler

	closeOnce sync.Once
	closing   chan struct{}
}

// Mount adds the console's routes to r: / and its pages, /login, /logout, /events, /static/….
func Mount(r chi.Router, a *app.App, opts ...Options) *Console {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Hour
	}
	if o.PurchaserTopUpMethods == nil {
		o.PurchaserTopUpMethods = []string{"card"}
	}
	if o.Debounce <= 0 {
		o.Debounce = 250 * time.Millisecond
	}
	if o.Limiter == nil {
		o.Limiter = NewLoginLimiter(LoginLimits{Now: a.Clock.Now})
	}
	c := &Console{app: a, opts: o, sessions: newSessionStore(o.SessionTTL, o.IdleTimeout), pages: parsePages(), closing: make(chan struct{})}
	sub, _ := fs.Sub(assets, "static")
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	r.Group(func(r chi.Router) {
		r.Use(securityHeaders, c.withSession, c.checkCSRF)
		r.Get("/static/*", c.serveStatic)
		r.Get("/login", c.loginPage)
		r.Post("/login", c.login)
		r.Post("/logout", c.logout)

		r.Get("/", c.signedIn(c.home))
		r.Get("/events", c.staff(c.events))
		r.Get("/sites", c.staff(c.sitesPage))
		r.Get("/stations", c.staff(c.stationsPage))
		r.Get("/stations/{id}", c.staff(c.stationPage))
		r.Get("/stations/{id}/live", c.staff(c.stationLive))
		r.Post("/stations/{id}/commands", c.operator(c.command))
		r.Get("/sessions", c.staff(c.sessionsPage))
		r.Get("/sessions/{id}", c.signedIn(c.sessionPage))
		r.Get("/sessions/{id}/receipt", c.signedIn(c.receiptPage))
		r.Get("/purchasers", c.staff(c.purchasersPage))
		r.Get("/accounts/{id}", c.signedIn(c.accountOrMe))
		r.Post("/accounts/{id}/topups", c.operator(c.topUp))
		r.Get("/tokens", c.staff(c.tokensPage))
		r.Get("/vehicles", c.staff(c.vehiclesPage))
		r.Get("/reports", c.staff(c.reportsPage))
		r.Get("/reports/download", c.staff(c.reportDownload))
		r.Get("/tariffs", c.staff(c.tariffsPage))
		r.Get("/tariffs/{id}", c.staff(c.tariffPage))
		r.Post("/tariffs/{id}/preview", c.staff(c.tariffPreview))

		r.Get("/me", c.purchaser(c.mePage))
		r.Post("/me/topups", c.purchaser(c.meTopUp))
		r.Post("/me/tokens", c.purchaser(c.meAddToken))
		r.Post("/me/tokens/{id}/status", c.purchaser(c.meTokenStatus))
		r.Post("/me/vehicles", c.purchaser(c.meAddVehicle))
		r.Post("/me/vehicles/{id}/deactivate", c.purchaser(c.meRemoveVehicle))
	})
	return c
}

// Close ends the live streams (Server-Sent Events), so that a graceful shutdown of the HTTP
// server does not wait for browsers to go away.
func (c *Console) Close() { c.closeOnce.Do(func() { close(c.closing) }) }

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	c.static.ServeHTTP(w, r)
}

// securityHeaders: no inline script or style is allowed (the pages have none), no framing, no
// MIME sniffing, no cross-origin window or resource sharing, no powerful browser features, and
// pages are not cached (they hold balances and personal data).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if len(r.URL.Path) < 8 || r.URL.Path[:8] != "/static/" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// Role gates. Each wraps a handler; the gate answers 303 to /login without a session and 403
// with too low a role.
func (c *Console) signedIn(h http.HandlerFunc) http.HandlerFunc { return c.gate(h, nil) }

func (c *Console) staff(h http.HandlerFunc) http.HandlerFunc {
	return c.gate(h, func(s *session) bool { return account.RoleRank(s.Role) >= account.RoleRank(account.RoleViewer) })
}

func (c *Console) operator(h http.HandlerFunc) http.HandlerFunc {
	return c.gate(h, func(s *session) bool { return canOperate(s) })
}

func (c *Console) purchaser(h http.HandlerFunc) http.HandlerFunc {
	return c.gate(h, func(s *session) bool { return s.Role == account.RolePurchaser && s.AccountID != "" })
}

func canOperate(s *session) bool {
	return s != nil && account.RoleRank(s.Role) >= account.RoleRank(account.RoleOperator)
}

func (c *Console) gate(h http.HandlerFunc, ok func(*session) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := sessionFrom(r.Context())
		if s == nil {
			if r.Method == http.MethodGet && r.URL.Path != "/events" {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if ok != nil && !ok(s) {
			c.fail(w, r, errs.E(errs.Forbidden, "your role (%s) may not do this", s.Role))
			return
		}
		ctx := app.WithActor(r.Context(), app.Actor{UserID: s.UserID, Role: s.Role, AccountID: s.AccountID})
		h(w, r.WithContext(ctx))
	}
}

// status maps an error to its HTTP status (errs owns the one mapping).
func status(err error) int { return errs.HTTPStatus(errs.KindOf(err)) }

// fail renders an error page with the error's status. Internal errors are logged, not shown.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	msg := errs.Message(err)
	if code == http.StatusInternalServerError {
		c.app.Log.Error("console", "path", r.URL.Path, "err", err)
		msg = "Something went wrong; the error was logged."
	}
	if code == http.StatusNotFound {
		msg = "Not found."
	}
	w.WriteHeader(code)
	c.render(w, r, "error.html", "Error", struct {
		Code int
		Msg  string
	}{code, msg})
}
