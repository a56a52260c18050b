// Package httpapi is the REST API under /api/v1: huma on chi, OpenAPI 3.1 from the code,
// RFC 9457 problems for every error, bearer tokens with a role per operation.
package httpapi

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// Mount registers the API on r and returns the huma API (for OpenAPI export and extension by
// later packages through Register functions).
func Mount(r chi.Router, a *app.App, version string) huma.API {
	cfg := huma.DefaultConfig("EVCS API", version)
	cfg.Info.Description = "Management, operation and query of an EV charging operator. Authenticate with `Authorization: Bearer <token>`."
	cfg.OpenAPIPath = "/openapi"
	cfg.DocsPath = ""
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // no "$schema" links in bodies: clients get plain JSON
	cfg.Formats["application/merge-patch+json"] = huma.DefaultJSONFormat
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer"},
	}
	// kW values are exact decimals on the wire (parsed by energy.KW, never through float64).
	cfg.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[energy.KW](), reflect.TypeFor[float64]())
	api := humachi.New(r, cfg)
	api.UseMiddleware(authMiddleware(api, a))
	registerMasterData(api, a)
	registerOperation(api, a)
	registerTariffs(api, a)
	registerLedger(api, a)
	registerReceipts(api, a)
	registerInvoices(api, a)
	registerSwap(api, a)
	registerAlarms(api, a)
	registerLoad(api, a)
	registerReports(api, a)
	registerImports(api, a)
	return api
}

func init() {
	// Every error leaves as an RFC 9457 problem; app errors carry the field they are about.
	huma.NewError = newProblem
	huma.NewErrorWithContext = func(_ huma.Context, status int, msg string, es ...error) huma.StatusError {
		return newProblem(status, msg, es...)
	}
}

func newProblem(status int, msg string, es ...error) huma.StatusError {
	p := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg}
	for _, e := range es {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			p.Errors = append(p.Errors, d.ErrorDetail())
			continue
		}
		p.Errors = append(p.Errors, &huma.ErrorDetail{Message: e.Error()})
	}
	return p
}

// status maps an error kind to its HTTP status (errs owns the one mapping).
func status(k errs.Kind) int { return errs.HTTPStatus(k) }

// fail converts an app error into a problem.
func fail(err error) error {
	if err == nil {
		return nil
	}
	k := errs.KindOf(err)
	if k == errs.Internal {
		return huma.Error500InternalServerError("internal error")
	}
	detail := errs.Message(err)
	if f := errs.FieldOf(err); f != "" {
		return newProblem(status(k), detail, &huma.ErrorDetail{Location: "body." + f, Message: detail})
	}
	return newProblem(status(k), detail)
}

func roleOrNone(r string) string {
	if r == "" {
		return "none"
	}
	return r
}

// op builds an operation needing role ("" = no authentication).
func op(method, path, id, summary, role string, tags ...string) huma.Operation {
	o := huma.Operation{Method: method, Path: Prefix + path, OperationID: id, Summary: summary, Tags: tags,
		Metadata: map[string]any{"role": role}, Extensions: map[string]any{"x-evcs-role": roleOrNone(role)}}
	if role != "" {
		o.Security = []map[string][]string{{"bearer": {}}}
		o.Errors = []int{http.StatusUnauthorized, http.StatusForbidden}
	}
	return o
}

func authMiddleware(api huma.API, a *app.App) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		role, _ := ctx.Operation().Metadata["role"].(string)
		if role == "" {
			next(ctx)
			return
		}
		h := ctx.Header("Authorization")
		bearer, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="evcs"`)
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "missing bearer token")
			return
		}
		actor, err := a.Authenticate(ctx.Context(), strings.TrimSpace(bearer))
		if err != nil {
			if errs.Is(err, errs.Unauthorized) {
				ctx.SetHeader("WWW-Authenticate", `Bearer realm="evcs", error="invalid_token"`)
				_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, errs.Message(err))
			} else {
				_ = huma.WriteErr(api, ctx, http.StatusServiceUnavailable, "cannot check the token now")
			}
			return
		}
		if account.RoleRank(actor.Role) < account.RoleRank(role) && !selfService(actor, ctx.Operation().OperationID) {
			_ = huma.WriteErr(api, ctx, http.StatusForbidden, "requires role "+role)
			return
		}
		if area := scopeArea(ctx.Operation().Path); !app.ScopeAllows(actor.Scopes, area, isRead(ctx.Operation().Method)) {
			_ = huma.WriteErr(api, ctx, http.StatusForbidden, "the token's scopes do not cover "+ctx.Operation().Method+" "+area)
			return
		}
		next(huma.WithContext(ctx, app.WithActor(ctx.Context(), actor)))
	}
}

// scopeArea is an operation's area for token scopes: the first path segment after the prefix.
func scopeArea(path string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(path, Prefix), "/")
	area, _, _ := strings.Cut(rest, "/")
	return area
}

func isRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// actorCtx is a shorthand for tests and handlers.
func actorCtx(ctx context.Context) app.Actor { return app.ActorFrom(ctx) }

// DefaultJSON treats a request body sent without a content type (or as a form, curl's default
// for -d) as JSON, so a pasted `curl -d '{…}'` works.
func DefaultJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
			ct := r.Header.Get("Content-Type")
			if ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
				r.Header.Set("Content-Type", "application/json")
			}
		}
		next.ServeHTTP(w, r)
	})
}
