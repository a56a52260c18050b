package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
)

// registerLoad adds the load-management routes: a site's distribution tree with its limits,
// measured and allocated power, and an operator's re-balance.
func registerLoad(api huma.API, a *app.App) {
	manager := func() (*app.LoadManager, error) {
		if m := a.LoadManager(); m != nil {
			return m, nil
		}
		return nil, errs.E(errs.Unavailable, "load management is not running")
	}
	type sitePath struct {
		ID string `path:"id"`
	}
	huma.Register(api, op(http.MethodGet, "/sites/{id}/load", "get-site-load",
		"The site's distribution tree: limits, measured and allocated power per node, EVSE and session", account.RoleViewer, "Power distribution"),
		func(ctx context.Context, in *sitePath) (*body[app.SiteLoad], error) {
			m, err := manager()
			if err != nil {
				return nil, fail(err)
			}
			if _, err := app.Get(ctx, a, app.Sites, in.ID); err != nil {
				return nil, fail(err)
			}
			snap, err := m.Site(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[app.SiteLoad]{*snap}, nil
		})
	huma.Register(api, op(http.MethodPost, "/sites/{id}/load/rebalance", "rebalance-site-load",
		"Re-read the site's tree, re-allocate and push every session's charging profile again", account.RoleOperator, "Power distribution"),
		func(ctx context.Context, in *sitePath) (*body[app.SiteLoad], error) {
			m, err := manager()
			if err != nil {
				return nil, fail(err)
			}
			if _, err := app.Get(ctx, a, app.Sites, in.ID); err != nil {
				return nil, fail(err)
			}
			snap, err := m.Rebalance(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[app.SiteLoad]{*snap}, nil
		})
}
