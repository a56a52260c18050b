package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store"
)

// CommandRequest is an operator's command, version-neutral. The OCPP edge turns it into its
// version's action: remote_start → RemoteStartTransaction (1.6) / RequestStartTransaction (2.x).
type CommandRequest struct {
	Kind          string          `json:"kind" enum:"remote_start,remote_stop,reset,unlock,availability,trigger,clear_cache,get_configuration,change_configuration,get_variables,set_variables,data_transfer,reserve_now,cancel_reservation,get_diagnostics,update_firmware,send_local_list,get_local_list_version,raw,charging_profile,clear_charging_profile" doc:"what to do"`
	EVSENo        int             `json:"evse_no,omitempty" minimum:"0"`
	ConnectorNo   int             `json:"connector_no,omitempty" minimum:"0"`
	IdToken       string          `json:"id_token,omitempty" maxLength:"36"`
	TransactionID string          `json:"transaction_id,omitempty" maxLength:"36"`
	ResetType     string          `json:"reset_type,omitempty" enum:"soft,hard,immediate,on_idle" doc:"reset: 1.6 Soft/Hard, 2.x OnIdle/Immediate"`
	Operative     *bool           `json:"operative,omitempty" doc:"availability"`
	Message       string          `json:"message,omitempty" doc:"trigger: the message to trigger, e.g. StatusNotification"`
	Key           string          `json:"key,omitempty" doc:"configuration key, or component/variable as component.variable"`
	Value         string          `json:"value,omitempty"`
	Action        string          `json:"action,omitempty" doc:"raw: the OCPP action to send as is"`
	Payload       json.RawMessage `json:"payload,omitempty" doc:"raw: the payload, checked against the station's OCPP version schema"`

	// charging_profile / clear_charging_profile (SetChargingProfile / ClearChargingProfile): a
	// one-period schedule capping the EVSE (evse_no, 0 = the station) at Limit from ValidFrom.
	Limit        *float64   `json:"limit,omitempty" minimum:"0" doc:"charging_profile: the cap, in rate_unit"`
	RateUnit     string     `json:"rate_unit,omitempty" enum:"W,A" doc:"charging_profile: W (default) or A per phase"`
	Purpose      string     `json:"purpose,omitempty" enum:"TxProfile,TxDefaultProfile,ChargingStationMaxProfile" doc:"charging_profile: 1.6 ChargePointMaxProfile is ChargingStationMaxProfile; TxProfile needs transaction_id"`
	ProfileID    int        `json:"profile_id,omitempty" minimum:"0" doc:"charging profile id; 0 = derived from purpose and evse_no, so a new profile replaces the last one"`
	StackLevel   *int       `json:"stack_level,omitempty" minimum:"0"`
	NumberPhases int        `json:"number_phases,omitempty" minimum:"0" maximum:"3"`
	ValidFrom    *time.Time `json:"valid_from,omitempty" doc:"charging_profile: start of an absolute schedule (default: relative to the transaction)"`
	ValidTo      *time.Time `json:"valid_to,omitempty"`
}

// ProfileIDFor is the charging profile id EVCS uses for a purpose on an EVSE when none is given:
// one id per (purpose, EVSE), so that a new limit replaces the previous one on the station.
func ProfileIDFor(purpose string, evse int) int {
	base := map[string]int{"TxDefaultProfile": 1_000_000, "TxProfile": 2_000_000, "ChargingStationMaxProfile": 3_000_000}[purpose]
	if base == 0 {
		base = 4_000_000
	}
	return base + evse
}

// StationCommander reaches connected stations; the OCPP server implements it.
type StationCommander interface {
	// Command sends a command to a connected station and returns the station's answer and its
	// status in one word ("Accepted", "Rejected", …). Not connected → errs.Unavailable.
	Command(ctx context.Context, stationID string, req CommandRequest) (action string, result json.RawMessage, status string, err error)
	// Connected reports whether a station is connected here, and on which protocol.
	Connected(stationID string) (protocol string, ok bool)
}

// SendCommand sends an operator command to a station and records it with its outcome.
func (a *App) SendCommand(ctx context.Context, stationID string, req CommandRequest) (*charging.Command, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap("command", err)
	}
	var st error
	if err := a.Store.View(ctx, func(tx store.Tx) error { _, st = tx.Stations().Get(ctx, stationID); return nil }); err != nil {
		return nil, err
	}
	if st != nil {
		return nil, errs.Wrap("command", st)
	}
	if a.Commander == nil {
		return nil, errs.E(errs.Unavailable, "the OCPP server is not running")
	}
	reqJSON, _ := json.Marshal(req)
	now := a.now()
	cmd := &charging.Command{ID: ids.New("cmd"), StationID: stationID, Action: req.Kind, Actor: ActorFrom(ctx).UserID, Request: reqJSON, Status: charging.CommandPending, CreatedAt: now, UpdatedAt: now}
	if _, ok := a.Commander.Connected(stationID); !ok {
		return nil, errs.E(errs.Conflict, "station %s is not connected", stationID)
	}
	action, result, status, err := a.Commander.Command(ctx, stationID, req)
	if errs.Is(err, errs.Invalid) && result == nil {
		return nil, errs.Wrap("command", err) // bad input never reached the station: nothing to record
	}
	if action != "" {
		cmd.Action = action
	}
	cmd.Result, cmd.UpdatedAt = result, a.now()
	switch {
	case err != nil:
		cmd.Status, cmd.Error = charging.CommandFailed, err.Error()
	default:
		cmd.Status, cmd.Error = charging.CommandAccepted, ""
		if status != "" && status != "Accepted" {
			cmd.Error = status
		}
	}
	if serr := a.Store.InTx(ctx, func(tx store.Tx) error { return tx.Commands().Create(ctx, cmd) }); serr != nil {
		return nil, errs.Wrap("record command", serr)
	}
	if err != nil {
		return cmd, errs.Wrap("command", err)
	}
	return cmd, nil
}
