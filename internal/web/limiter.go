package web

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// LoginLimits tune the console's login limiter. Zero values take the defaults noted.
type LoginLimits struct {
	// MaxFailures wrong passwords in a row lock an e-mail address for Lockout (default 5, 15m).
	// A successful login resets the e-mail's count.
	MaxFailures int
	Lockout     time.Duration
	// MaxIPFailures failed logins from one client address within IPWindow lock that address for
	// Lockout (default 50 in 15m). It catches one client trying many addresses; a success does
	// not reset it, or one valid account of the attacker's would wipe it.
	MaxIPFailures int
	IPWindow      time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewLoginLimiter returns the limiter the console uses by default. The client address is the
// connection's (RemoteAddr): X-Forwarded-For is not trusted, since any client can send it.
// State is in memory, per process; entries are dropped once they no longer matter.
func NewLoginLimiter(l LoginLimits) LoginLimiter {
	if l.MaxFailures <= 0 {
		l.MaxFailures = 5
	}
	if l.Lockout <= 0 {
		l.Lockout = 15 * time.Minute
	}
	if l.MaxIPFailures <= 0 {
		l.MaxIPFailures = 50
	}
	if l.IPWindow <= 0 {
		l.IPWindow = 15 * time.Minute
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return &loginLimiter{l: l, emails: map[string]*failures{}, ips: map[string]*failures{}}
}

type loginLimiter struct {
	l      LoginLimits
	mu     sync.Mutex
	emails map[string]*failures
	ips    map[string]*failures
	sweep  time.Time
}

// failures counts failures since first; locked until until.
type failures struct {
	n            int
	first, until time.Time
}

func (f *failures) locked(now time.Time) bool { return f != nil && now.Before(f.until) }

func (l *loginLimiter) Allow(r *http.Request, email string) bool {
	now := l.l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.emails[emailKey(email)].locked(now) && !l.ips[clientIP(r)].locked(now)
}

func (l *loginLimiter) Result(r *http.Request, email string, ok bool) {
	now := l.l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gc(now)
	ek := emailKey(email)
	if ok {
		delete(l.emails, ek)
		return
	}
	l.fail(l.emails, ek, now, l.l.MaxFailures, 0)
	l.fail(l.ips, clientIP(r), now, l.l.MaxIPFailures, l.l.IPWindow)
}

// fail counts a failure for key; window > 0 restarts the count when the first failure is older.
func (l *loginLimiter) fail(m map[string]*failures, key string, now time.Time, max int, window time.Duration) {
	f := m[key]
	if f == nil || (window > 0 && now.Sub(f.first) > window) || (!f.until.IsZero() && !now.Before(f.until)) {
		f = &failures{first: now}
		m[key] = f
	}
	f.n++
	if f.n >= max {
		f.until = now.Add(l.l.Lockout)
	}
}

// gc drops stale entries now and then, so a spray of addresses cannot grow the maps for ever.
func (l *loginLimiter) gc(now time.Time) {
	if now.Sub(l.sweep) < time.Minute && len(l.emails)+len(l.ips) < 10000 {
		return
	}
	l.sweep = now
	horizon := max(l.l.Lockout, l.l.IPWindow)
	for _, m := range []map[string]*failures{l.emails, l.ips} {
		for k, f := range m {
			if !f.locked(now) && now.Sub(f.first) > horizon {
				delete(m, k)
			}
		}
	}
}

func emailKey(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// noLimit allows every attempt (Options.Limiter = NoLoginLimit).
type noLimit struct{}

func (noLimit) Allow(*http.Request, string) bool   { return true }
func (noLimit) Result(*http.Request, string, bool) {}

// NoLoginLimit turns login limiting off (tests, or a proxy in front that limits already).
var NoLoginLimit LoginLimiter = noLimit{}
