package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
)

type tariffBody struct {
	Body json.RawMessage `doc:"an OCPI 2.2.1 Tariff object; id, country_code, party_id and last_updated are filled when absent"`
}

// PriceRequest prices a CDR with a tariff without storing anything.
type PriceRequest struct {
	Tariff   json.RawMessage `json:"tariff" doc:"OCPI 2.2.1 Tariff"`
	CDR      json.RawMessage `json:"cdr" doc:"OCPI 2.2.1 CDR: start_date_time, end_date_time, currency and charging_periods are required"`
	TimeZone string          `json:"time_zone,omitempty" doc:"IANA zone for time restrictions; default the CDR location's, else UTC"`
}

func registerTariffs(api huma.API, a *app.App) {
	huma.Register(api, withStatus(op(http.MethodPost, "/tariffs", "create-tariff", "Create a tariff (OCPI 2.2.1 Tariff body)", account.RoleOperator, "Tariffs"), http.StatusCreated),
		func(ctx context.Context, in *tariffBody) (*created[billing.TariffRecord], error) {
			rec, err := a.CreateTariff(ctx, in.Body)
			if err != nil {
				return nil, fail(err)
			}
			return &created[billing.TariffRecord]{Status: http.StatusCreated, Body: *rec}, nil
		})
	huma.Register(api, op(http.MethodPut, "/tariffs/{id}", "update-tariff", "Replace a tariff: stores a new version (running sessions keep theirs)", account.RoleOperator, "Tariffs"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
			tariffBody
		}) (*body[billing.TariffRecord], error) {
			rec, err := a.UpdateTariff(ctx, in.ID, in.Body)
			if err != nil {
				return nil, fail(err)
			}
			return &body[billing.TariffRecord]{*rec}, nil
		})
	huma.Register(api, op(http.MethodGet, "/tariffs/{id}", "get-tariff", "Get a tariff's latest version", account.RoleViewer, "Tariffs"),
		func(ctx context.Context, in *idPath) (*body[billing.TariffRecord], error) {
			rec, err := a.Tariff(ctx, in.ID, 0)
			if err != nil {
				return nil, fail(err)
			}
			return &body[billing.TariffRecord]{*rec}, nil
		})
	huma.Register(api, op(http.MethodGet, "/tariffs/{id}/versions/{version}", "get-tariff-version", "Get one version of a tariff", account.RoleViewer, "Tariffs"),
		func(ctx context.Context, in *struct {
			ID      string `path:"id"`
			Version int    `path:"version" minimum:"1"`
		}) (*body[billing.TariffRecord], error) {
			rec, err := a.Tariff(ctx, in.ID, in.Version)
			if err != nil {
				return nil, fail(err)
			}
			return &body[billing.TariffRecord]{*rec}, nil
		})
	listOp := op(http.MethodGet, "/tariffs", "list-tariffs", "List tariffs (latest versions; filters status, currency)", account.RoleViewer, "Tariffs")
	listDoc{times: []string{"updated_at", "created_at"}, sorts: []string{"updated_at", "created_at"}}.document(&listOp)
	huma.Register(api, listOp,
		func(ctx context.Context, in *ListParams) (*body[Page[billing.TariffRecord]], error) {
			q, err := in.parse()
			if err != nil {
				return nil, err
			}
			items, next, err := a.Tariffs(ctx, q)
			if err != nil {
				return nil, listFail(err)
			}
			if items == nil {
				items = []billing.TariffRecord{}
			}
			return &body[Page[billing.TariffRecord]]{Page[billing.TariffRecord]{Items: items, NextCursor: next}}, nil
		})
	huma.Register(api, op(http.MethodDelete, "/tariffs/{id}", "deactivate-tariff", "Deactivate a tariff (kept for the sessions it rated)", account.RoleOperator, "Tariffs"),
		func(ctx context.Context, in *idPath) (*body[billing.TariffRecord], error) {
			rec, err := a.DeactivateTariff(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[billing.TariffRecord]{*rec}, nil
		})
	huma.Register(api, op(http.MethodPost, "/tariffs/price", "price-cdr", "Price an OCPI CDR with a tariff (nothing is stored)", account.RoleViewer, "Tariffs"),
		func(ctx context.Context, in *body[PriceRequest]) (*body[json.RawMessage], error) {
			loc := time.UTC
			if in.Body.TimeZone != "" {
				l, err := time.LoadLocation(in.Body.TimeZone)
				if err != nil {
					return nil, fail(errs.Field("time_zone", "%q is not an IANA time zone", in.Body.TimeZone))
				}
				loc = l
			} else if cdr, err := billing.DecodeCDR(in.Body.CDR); err == nil && cdr.TimeZone() != "" {
				if l, err := time.LoadLocation(cdr.TimeZone()); err == nil {
					loc = l
				}
			}
			out, err := billing.PriceJSON(in.Body.CDR, in.Body.Tariff, loc)
			if err != nil {
				return nil, fail(err)
			}
			return &body[json.RawMessage]{json.RawMessage(out)}, nil
		})
}
