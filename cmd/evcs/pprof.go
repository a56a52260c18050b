package main

import (
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
)

// /debug/pprof serves Go's profiles to admins only (Authorization: Bearer <admin token>): a
// profile shows memory and stack contents. A scoped token needs the "debug" scope.
//
//	go tool pprof -http=: -H "Authorization: Bearer $EVCS_ADMIN_TOKEN" http://HOST/debug/pprof/profile?seconds=30
func init() {
	mounts = append(mounts, func(m *Main, r chi.Router) {
		r.Route("/debug/pprof", func(r chi.Router) {
			r.Use(adminOnly(m.App))
			r.Get("/", pprof.Index)
			r.Get("/cmdline", pprof.Cmdline)
			r.Get("/profile", pprof.Profile)
			r.Get("/symbol", pprof.Symbol)
			r.Post("/symbol", pprof.Symbol)
			r.Get("/trace", pprof.Trace)
			r.Get("/{profile}", func(w http.ResponseWriter, r *http.Request) {
				pprof.Handler(chi.URLParam(r, "profile")).ServeHTTP(w, r)
			})
		})
	})
}

// adminOnly lets through requests bearing an admin API token whose scopes cover "debug".
func adminOnly(a *app.App) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="evcs"`)
				http.Error(w, "missing bearer token", http.StatusUnauthorized)
				return
			}
			actor, err := a.Authenticate(r.Context(), strings.TrimSpace(bearer))
			switch {
			case errs.Is(err, errs.Unauthorized):
				w.Header().Set("WWW-Authenticate", `Bearer realm="evcs", error="invalid_token"`)
				http.Error(w, errs.Message(err), http.StatusUnauthorized)
				return
			case err != nil:
				http.Error(w, "cannot check the token now", http.StatusServiceUnavailable)
				return
			case actor.Role != account.RoleAdmin || !app.ScopeAllows(actor.Scopes, "debug", false):
				http.Error(w, "requires an admin token", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
