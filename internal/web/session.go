package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// Login sessions live in this process's memory: a random 256-bit id in an HttpOnly,
// SameSite=Lax cookie (Secure over TLS) names a server-side record with the user, a CSRF token
// and an expiry. Logging out deletes the record, so a copied cookie dies with it. A restart
// signs everyone out, and with several nodes the load balancer must keep a browser on one node
// (or sessions move into the store: sessionStore is the one place to change).
//
// The user is read again on every request, so a deactivated user or a changed role takes
// effect at once.

const (
	sessionCookie  = "evcs_session"
	loginCSRFCooke = "evcs_login"
)

type session struct {
	ID        string
	UserID    string
	Role      string
	Name      string
	AccountID string
	CSRF      string
	Created   time.Time
	LastSeen  time.Time
	flash     []flash
}

type flash struct {
	Error bool
	Text  string
}

type sessionStore struct {
	mu        sync.Mutex
	m         map[string]*session
	ttl, idle time.Duration
	lastSweep time.Time
}

func newSessionStore(ttl, idle time.Duration) *sessionStore {
	return &sessionStore{m: map[string]*session{}, ttl: ttl, idle: idle}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (st *sessionStore) create(u *account.User, now time.Time) *session {
	s := &session{ID: randomToken(), UserID: u.ID, Role: u.Role, Name: u.Name, AccountID: u.AccountID, CSRF: randomToken(), Created: now, LastSeen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Sub(st.lastSweep) > time.Minute {
		for id, old := range st.m {
			if st.expired(old, now) {
				delete(st.m, id)
			}
		}
		st.lastSweep = now
	}
	st.m[s.ID] = s
	return s
}

func (st *sessionStore) expired(s *session, now time.Time) bool {
	return now.Sub(s.Created) > st.ttl || now.Sub(s.LastSeen) > st.idle
}

// get returns a live session and marks it used; nil when unknown or expired.
func (st *sessionStore) get(id string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[id]
	if !ok {
		return nil
	}
	if st.expired(s, now) {
		delete(st.m, id)
		return nil
	}
	s.LastSeen = now
	c := *s
	c.flash = nil
	return &c
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	delete(st.m, id)
	st.mu.Unlock()
}

// alive reports whether a session still exists (an SSE stream ends when it does not).
func (st *sessionStore) alive(id string, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[id]
	return ok && !st.expired(s, now)
}

// addFlash keeps a message for the next page the session renders (the result of a POST).
func (st *sessionStore) addFlash(id string, f flash) {
	st.mu.Lock()
	if s, ok := st.m[id]; ok && len(s.flash) < 10 {
		s.flash = append(s.flash, f)
	}
	st.mu.Unlock()
}

func (st *sessionStore) takeFlash(id string) []flash {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[id]
	if !ok {
		return nil
	}
	f := s.flash
	s.flash = nil
	return f
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// withSession resolves the session cookie to a session with the user's current role.
func (c *Console) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		if err != nil || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		s := c.sessions.get(ck.Value, c.app.Clock.Now())
		if s != nil {
			var u *account.User
			err := c.app.Store.View(r.Context(), func(tx store.Tx) (err error) { u, err = tx.Users().Get(r.Context(), s.UserID); return })
			switch {
			case errs.Is(err, errs.NotFound) || (err == nil && u.Status != account.Active):
				c.sessions.delete(s.ID)
				s = nil
			case err != nil:
				c.fail(w, r, err)
				return
			default:
				s.Role, s.Name, s.AccountID = u.Role, u.Name, u.AccountID
			}
		}
		if s != nil {
			r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		}
		next.ServeHTTP(w, r)
	})
}

// checkCSRF refuses every POST whose form does not carry the session's CSRF token (the login
// form carries its own, checked in login). SameSite=Lax already keeps the cookie off
// cross-site POSTs; the token also covers same-site attackers and older browsers.
func (c *Console) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path == "/login" {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		s := sessionFrom(r.Context())
		if s == nil {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if !sameToken(r.PostFormValue("csrf"), s.CSRF) {
			http.Error(w, "invalid or missing CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int, site http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, Secure: r.TLS != nil, SameSite: site})
}

type loginView struct {
	Email, Next, Token, Error string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if sessionFrom(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// renderLogin shows the form with a fresh login CSRF token (double submit: cookie + field),
// which keeps another site from signing a browser in as someone else.
func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, code int, v loginView) {
	v.Token = randomToken()
	c.setCookie(w, r, loginCSRFCooke, v.Token, "/login", 3600, http.SameSiteStrictMode)
	w.WriteHeader(code)
	c.render(w, r, "login.html", "Sign in", v)
}

// dummyHash makes a login with an unknown e-mail cost as much as one with a wrong password.
var dummyHash, _ = app.HashSecret("not-a-password")

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ck, err := r.Cookie(loginCSRFCooke)
	if err != nil || !sameToken(r.PostFormValue("csrf"), ck.Value) {
		http.Error(w, "invalid or missing CSRF token: reload the sign-in page", http.StatusForbidden)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	pw := r.PostFormValue("password")
	v := loginView{Email: email, Next: safeNext(r.PostFormValue("next"))}
	if c.opts.Limiter != nil && !c.opts.Limiter.Allow(r, email) {
		v.Error = "Too many attempts; wait a while and try again."
		c.renderLogin(w, r, http.StatusTooManyRequests, v)
		return
	}
	var u *account.User
	err = c.app.Store.View(r.Context(), func(tx store.Tx) (err error) { u, err = tx.Users().GetBy(r.Context(), "email", email); return })
	if err != nil && !errs.Is(err, errs.NotFound) {
		c.fail(w, r, err)
		return
	}
	ok := false
	if u == nil {
		app.CheckSecret(dummyHash, pw)
	} else {
		ok = app.CheckSecret(u.PasswordHash, pw) && u.Status == account.Active
	}
	if c.opts.Limiter != nil {
		c.opts.Limiter.Result(r, email, ok)
	}
	if !ok {
		v.Error = "Wrong e-mail or password."
		c.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	s := c.sessions.create(u, c.app.Clock.Now())
	c.setCookie(w, r, loginCSRFCooke, "", "/login", -1, http.SameSiteStrictMode)
	c.setCookie(w, r, sessionCookie, s.ID, "/", 0, http.SameSiteLaxMode)
	next := v.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if s := sessionFrom(r.Context()); s != nil {
		c.sessions.delete(s.ID)
	}
	c.setCookie(w, r, sessionCookie, "", "/", -1, http.SameSiteLaxMode)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target on this site: a path, never "//host" or a URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return ""
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// flashTo keeps a message for the next page and redirects there (POST → 303 → GET).
func (c *Console) flashTo(w http.ResponseWriter, r *http.Request, to string, isErr bool, text string) {
	if s := sessionFrom(r.Context()); s != nil {
		c.sessions.addFlash(s.ID, flash{Error: isErr, Text: text})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
