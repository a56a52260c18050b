package csms21

import (
	"context"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ocpp/csms"
	"github.com/evcs/evcs/internal/ocpp/csms201"
	v21 "github.com/evcs/evcs/internal/ocpp/v21"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// batterySwap records a swap station's BatteryIn, BatteryOut and BatteryOutTimeout
// (app.BatterySwap): batteries move, the order is billed once both are known. The message is
// also kept as a station event. BatterySwapResponse has no status, so a swap EVCS refuses
// (unknown battery, vehicle or type, no account, insufficient balance) is answered with a
// CALLERROR whose description says why.
func batterySwap(p *csms201.Protocol) csms.Route {
	return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v21.BatterySwapRequest) (*v21.BatterySwapResponse, error) {
		if err := p.App.StationEvent(ctx, c.StationID, "BatterySwap", csms201.Raw(r)); err != nil {
			return nil, err
		}
		e := app.SwapEvent{StationID: c.StationID, Event: string(r.EventType), IdToken: r.IDToken.IDToken, TokenType: r.IDToken.Type, RequestID: r.RequestID}
		for _, b := range r.BatteryData {
			e.Batteries = append(e.Batteries, app.SwapBattery{EVSENo: b.EvseID, Serial: b.SerialNumber, SoCPct: b.SoC, SoHPct: b.SoH})
		}
		if _, err := p.App.BatterySwap(ctx, e); err != nil {
			if errs.Is(err, errs.InsufficientFunds) {
				err = errs.E(errs.Conflict, "%s", errs.Message(err)) // a refusal with its reason, not an internal error
			}
			return nil, err
		}
		return &v21.BatterySwapResponse{}, nil
	})
}
