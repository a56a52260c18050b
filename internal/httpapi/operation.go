package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// SessionOut is a session as the API shows it.
type SessionOut struct {
	charging.Session
	Cost *Money `json:"cost,omitempty" doc:"what the session cost, once rated"`
}

func sessionView(_ context.Context, s *charging.Session) (SessionOut, error) {
	out := SessionOut{Session: *s}
	if s.CostMinor != nil && s.Currency != "" {
		m := MoneyOf(money.New(*s.CostMinor, s.Currency))
		out.Cost = &m
	}
	return out, nil
}

// ReadingOut is a meter reading as the API shows it: the value as an exact decimal string.
type ReadingOut struct {
	At        time.Time `json:"at"`
	EVSENo    int       `json:"evse_no"`
	Measurand string    `json:"measurand"`
	Phase     string    `json:"phase,omitempty"`
	Location  string    `json:"location,omitempty"`
	Context   string    `json:"context,omitempty"`
	Unit      string    `json:"unit"`
	Value     string    `json:"value"`
}

var sessionsResource = &app.Resource[charging.Session, struct{}]{Name: "session", WriteRole: account.RoleAdmin,
	Repo: func(tx store.Tx) store.Repo[charging.Session] { return tx.Sessions() }}
var eventsResource = &app.Resource[charging.StationEvent, struct{}]{Name: "station event", WriteRole: account.RoleAdmin,
	Repo: func(tx store.Tx) store.Repo[charging.StationEvent] { return tx.Events() }}
var commandsResource = &app.Resource[charging.Command, struct{}]{Name: "command", WriteRole: account.RoleAdmin,
	Repo: func(tx store.Tx) store.Repo[charging.Command] { return tx.Commands() }}

func registerOperation(api huma.API, a *app.App) {
	registerCRUD(api, a, sessionsResource, crudSpec{path: "/sessions", name: "session", plural: "sessions", tag: "Sessions",
		filters: []string{"station_id", "evse_no", "account_id", "id_token", "kind", "tx_ref", "site_id", "evse_id", "user_id", "vehicle_id", "tariff_id", "currency"},
		list:    listDoc{times: []string{"started_at", "stopped_at"}, sorts: []string{"started_at", "stopped_at", "cost"}, amount: "cost"},
		noWrite: true}, sessionView)
	registerCRUD(api, a, eventsResource, crudSpec{path: "/station-events", name: "station-event", plural: "station-events", tag: "Stations",
		filters: []string{"station_id", "kind"}, list: listDoc{times: []string{"at"}, sorts: []string{"at"}}, noWrite: true}, same[charging.StationEvent])
	registerCRUD(api, a, commandsResource, crudSpec{path: "/commands", name: "command", plural: "commands", tag: "Commands",
		filters: []string{"station_id", "action", "actor"}, list: byCreation, noWrite: true}, same[charging.Command])

	huma.Register(api, op(http.MethodGet, "/sessions/{id}/meter-values", "list-session-meter-values", "Every meter reading of a session", account.RoleViewer, "Sessions"),
		func(ctx context.Context, in *idPath) (*body[Page[ReadingOut]], error) {
			var rs []charging.Reading
			err := a.Store.View(ctx, func(tx store.Tx) error {
				if _, err := tx.Sessions().Get(ctx, in.ID); err != nil {
					return err
				}
				var err error
				rs, err = tx.Readings(ctx, in.ID)
				return err
			})
			if err != nil {
				return nil, fail(err)
			}
			out := make([]ReadingOut, len(rs))
			for i, r := range rs {
				out[i] = ReadingOut{At: r.At, EVSENo: r.EVSENo, Measurand: r.Measurand, Phase: r.Phase, Location: r.Location, Context: r.Context, Unit: r.Unit, Value: charging.FormatMilli(r.Milli)}
			}
			return &body[Page[ReadingOut]]{Page[ReadingOut]{Items: out}}, nil
		})

	huma.Register(api, op(http.MethodGet, "/stations/{id}/status", "get-station-status", "Live status of a station's connectors", account.RoleViewer, "Stations"),
		func(ctx context.Context, in *idPath) (*body[StationStatusOut], error) {
			var live []charging.StatusChange
			err := a.Store.View(ctx, func(tx store.Tx) error {
				if _, err := tx.Stations().Get(ctx, in.ID); err != nil {
					return err
				}
				var err error
				live, err = tx.LiveStatus(ctx, in.ID)
				return err
			})
			if err != nil {
				return nil, fail(err)
			}
			out := StationStatusOut{StationID: in.ID, Connectors: live}
			if a.Commander != nil {
				out.Protocol, out.Connected = a.Commander.Connected(in.ID)
			}
			if out.Connectors == nil {
				out.Connectors = []charging.StatusChange{}
			}
			return &body[StationStatusOut]{out}, nil
		})

	huma.Register(api, withStatus(op(http.MethodPost, "/stations/{id}/commands", "send-station-command",
		"Send a command to a connected station (remote start/stop, reset, unlock, availability, trigger, configuration, …)", account.RoleOperator, "Commands"), http.StatusCreated),
		func(ctx context.Context, in *struct {
			ID   string `path:"id"`
			Body app.CommandRequest
		}) (*created[charging.Command], error) {
			cmd, err := a.SendCommand(ctx, in.ID, in.Body)
			if err != nil && cmd == nil {
				return nil, fail(err)
			}
			if err != nil {
				// The command was recorded; the station did not answer as asked.
				return nil, fail(err)
			}
			return &created[charging.Command]{Status: http.StatusCreated, Body: *cmd}, nil
		})
}

// StationStatusOut is a station's live state.
type StationStatusOut struct {
	StationID  string                  `json:"station_id"`
	Connected  bool                    `json:"connected"`
	Protocol   string                  `json:"protocol,omitempty"`
	Connectors []charging.StatusChange `json:"connectors"`
}
