package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
)

// DeviceReadingOut is one reading of a site meter or active filter: the value as an exact
// decimal string in unit.
type DeviceReadingOut struct {
	At       time.Time `json:"at"`
	Quantity string    `json:"quantity" doc:"voltage, current, power_active, power_reactive, power_apparent, power_factor, frequency, thd_voltage, thd_current, energy_import, energy_export, compensation_current"`
	Phase    string    `json:"phase,omitempty" enum:"L1,L2,L3"`
	Unit     string    `json:"unit,omitempty" doc:"V, A, W, var, VA, Hz, %, Wh; empty for the power factor"`
	Value    string    `json:"value"`
}

type readingsInput struct {
	ID       string    `path:"id" maxLength:"100"`
	Quantity string    `query:"quantity" maxLength:"50"`
	Phase    string    `query:"phase" enum:"L1,L2,L3,"`
	From     time.Time `query:"from" doc:"RFC 3339; inclusive"`
	To       time.Time `query:"to" doc:"RFC 3339; exclusive"`
	Limit    int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Cursor   string    `query:"cursor"`
}

func registerAlarms(api huma.API, a *app.App) {
	list := op(http.MethodGet, "/alarms", "list-alarms", "List alarms, oldest first", account.RoleViewer, "Alarms")
	list.Description = "Filters (exact match): " + strings.Join(app.AlarmFilters, ", ") +
		". status: raised, acknowledged or cleared; severity: info, warning or critical; source: station/{id}, " +
		"connector/{station}/{evse}/{connector}, node/{id}, device/{id}, battery/{id}."
	for _, f := range app.AlarmFilters {
		list.Parameters = append(list.Parameters, &huma.Param{Name: f, In: "query", Schema: &huma.Schema{Type: "string"}})
	}
	listDoc{times: []string{"raised_at", "updated_at"}, sorts: []string{"raised_at", "updated_at", "severity"}}.document(&list)
	huma.Register(api, list, func(ctx context.Context, in *ListParams) (*body[Page[monitor.Alarm]], error) {
		q, err := in.parse()
		if err != nil {
			return nil, err
		}
		q.Search = ""
		items, next, err := a.Alarms(ctx, q)
		if err != nil {
			return nil, listFail(err)
		}
		if items == nil {
			items = []monitor.Alarm{}
		}
		return &body[Page[monitor.Alarm]]{Page[monitor.Alarm]{Items: items, NextCursor: next}}, nil
	})
	huma.Register(api, op(http.MethodGet, "/alarms/{id}", "get-alarm", "Get an alarm", account.RoleViewer, "Alarms"),
		func(ctx context.Context, in *idPath) (*body[monitor.Alarm], error) {
			v, err := a.Alarm(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[monitor.Alarm]{*v}, nil
		})
	huma.Register(api, op(http.MethodPost, "/alarms/{id}/acknowledge", "acknowledge-alarm", "Acknowledge a raised alarm", account.RoleOperator, "Alarms"),
		func(ctx context.Context, in *idPath) (*body[monitor.Alarm], error) {
			v, err := a.AcknowledgeAlarm(ctx, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &body[monitor.Alarm]{*v}, nil
		})
	clear := op(http.MethodPost, "/alarms/{id}/clear", "clear-alarm", "Clear an open alarm", account.RoleOperator, "Alarms")
	clear.Description = "Alarms clear by themselves when their condition ends; an operator may clear one earlier. A condition that persists raises a new alarm at the next check."
	huma.Register(api, clear, func(ctx context.Context, in *idPath) (*body[monitor.Alarm], error) {
		v, err := a.ClearAlarm(ctx, in.ID)
		if err != nil {
			return nil, fail(err)
		}
		return &body[monitor.Alarm]{*v}, nil
	})
	huma.Register(api, op(http.MethodGet, "/devices/{id}/readings", "list-device-readings", "Readings of a site meter or active filter, newest first", account.RoleViewer, "Power quality"),
		func(ctx context.Context, in *readingsInput) (*body[Page[DeviceReadingOut]], error) {
			rs, next, err := a.DeviceReadings(ctx, in.ID, store.ReadingQuery{Quantity: in.Quantity, Phase: in.Phase, From: in.From, To: in.To, Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, fail(err)
			}
			out := make([]DeviceReadingOut, len(rs))
			for i, r := range rs {
				out[i] = DeviceReadingOut{At: r.At, Quantity: r.Quantity, Phase: r.Phase, Unit: r.Unit, Value: charging.FormatMilli(r.Milli)}
			}
			return &body[Page[DeviceReadingOut]]{Page[DeviceReadingOut]{Items: out, NextCursor: next}}, nil
		})
}
