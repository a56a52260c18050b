package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/swap"
)

// SwapOut is a swap order as the API shows it: the stored order with its amounts as money.
type SwapOut struct {
	swap.Order
	Held   *Money `json:"held,omitempty" doc:"funds held when the battery was dispatched"`
	Energy *Money `json:"energy_cost,omitempty" doc:"the energy part of what was charged"`
	Fee    *Money `json:"swap_fee,omitempty" doc:"the swap fee part of what was charged"`
	Total  *Money `json:"total,omitempty" doc:"what was charged (incl. VAT when known)"`
}

func swapOut(o *swap.Order) SwapOut {
	out := SwapOut{Order: *o}
	m := func(v int64) *Money { x := MoneyOf(money.New(v, o.Currency)); return &x }
	if o.Currency != "" {
		out.Held = m(o.HeldMinor)
	}
	if o.TotalMinor != nil {
		out.Energy, out.Fee, out.Total = m(o.EnergyMinor), m(o.FeeMinor), m(*o.TotalMinor)
	}
	return out
}

// SwapListParams select swap orders.
type SwapListParams struct {
	StationID   string `query:"station_id" maxLength:"100"`
	AccountID   string `query:"account_id" maxLength:"100"`
	VehicleID   string `query:"vehicle_id" maxLength:"100"`
	BatteryType string `query:"battery_type" maxLength:"50"`
	Status      string `query:"status" enum:"dispatched,in_received,completed,timed_out,cancelled,"`
	Currency    string `query:"currency" maxLength:"3"`
	Limit       int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor      string `query:"cursor"`
	RangeParams
}

// registerSwap mounts battery swapping and V2G discharging.
func registerSwap(api huma.API, a *app.App) {
	huma.Register(api, withStatus(op(http.MethodPost, "/swaps", "request-swap",
		"Dispatch a battery to a vehicle at a connected swap station and ask the station to swap", account.RoleOperator, "Battery swap"), http.StatusCreated),
		func(ctx context.Context, in *struct{ Body app.SwapRequest }) (*created[SwapOut], error) {
			o, err := a.RequestSwap(ctx, in.Body)
			if err != nil {
				return nil, fail(err)
			}
			return &created[SwapOut]{Status: http.StatusCreated, Body: swapOut(o)}, nil
		})
	swapsOp := op(http.MethodGet, "/swaps", "list-swaps", "Swap orders", account.RoleViewer, "Battery swap")
	listDoc{times: []string{"created_at", "updated_at"}, sorts: []string{"created_at", "updated_at", "total"}, amount: "total charged"}.document(&swapsOp)
	huma.Register(api, swapsOp,
		func(ctx context.Context, in *SwapListParams) (*body[Page[SwapOut]], error) {
			q := store.Query{Limit: in.Limit, Cursor: in.Cursor, Filter: map[string]string{}}
			for k, v := range map[string]string{"station_id": in.StationID, "account_id": in.AccountID, "vehicle_id": in.VehicleID,
				"battery_type": in.BatteryType, "status": in.Status, "currency": in.Currency} {
				if v != "" {
					q.Filter[k] = v
				}
			}
			if err := in.apply(&q); err != nil {
				return nil, err
			}
			items, next, err := a.Swaps(ctx, q)
			if err != nil {
				return nil, listFail(err)
			}
			out := Page[SwapOut]{Items: []SwapOut{}, NextCursor: next}
			for i := range items {
				out.Items = append(out.Items, swapOut(&items[i]))
			}
			return &body[Page[SwapOut]]{out}, nil
		})
	huma.Register(api, op(http.MethodGet, "/swaps/{id}", "get-swap", "A swap order", account.RoleViewer, "Battery swap"),
		func(ctx context.Context, in *idPath) (*body[SwapOut], error) {
			o, err := a.Swap(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[SwapOut]{swapOut(o)}, nil
		})
	huma.Register(api, op(http.MethodGet, "/stations/{id}/swap-plan", "get-swap-plan",
		"A swap station's battery-charging plan: each slot's power per step, the ready target and the site's headroom (404 until first planned)", account.RoleViewer, "Battery swap"),
		func(ctx context.Context, in *idPath) (*body[swap.StationPlan], error) {
			p, err := a.SwapPlan(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[swap.StationPlan]{*p}, nil
		})
	historyOp := op(http.MethodGet, "/batteries/{id}/history", "battery-history",
		"A battery's history: every swap in and out, every SoH reading, leaving rotation", account.RoleViewer, "Battery swap")
	listDoc{times: []string{"at"}, sorts: []string{"at"}}.document(&historyOp)
	huma.Register(api, historyOp,
		func(ctx context.Context, in *struct {
			ID     string `path:"id"`
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor"`
			RangeParams
		}) (*body[Page[swap.BatteryEvent]], error) {
			q := store.Query{Limit: in.Limit, Cursor: in.Cursor}
			if err := in.apply(&q); err != nil {
				return nil, err
			}
			items, next, err := a.BatteryHistory(ctx, in.ID, q)
			if err != nil {
				return nil, listFail(err)
			}
			if items == nil {
				items = []swap.BatteryEvent{}
			}
			return &body[Page[swap.BatteryEvent]]{Page[swap.BatteryEvent]{Items: items, NextCursor: next}}, nil
		})
	huma.Register(api, withStatus(op(http.MethodPost, "/stations/{id}/discharge", "discharge",
		"Ask a V2X station (OCPP 2.1) to discharge the vehicle at an EVSE; refused when the vehicle's minimum SoC would be crossed",
		account.RoleOperator, "Commands"), http.StatusCreated),
		func(ctx context.Context, in *struct {
			ID   string `path:"id"`
			Body app.DischargeInput
		}) (*created[charging.Command], error) {
			cmd, err := a.Discharge(ctx, in.ID, in.Body)
			if err != nil {
				return nil, fail(err)
			}
			return &created[charging.Command]{Status: http.StatusCreated, Body: *cmd}, nil
		})
}
