package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["BootNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v201.BootNotificationRequest) (*v201.BootNotificationResponse, error) {
			cs := r.ChargingStation
			interval, err := p.App.Boot(ctx, app.BootInfo{StationID: c.StationID, Vendor: cs.VendorName, Model: cs.Model,
				Serial: cs.SerialNumber, Firmware: cs.FirmwareVersion, Protocol: p.version.Subprotocol(), Reason: string(r.Reason)})
			if err != nil {
				return nil, err
			}
			return &v201.BootNotificationResponse{Status: "Accepted", CurrentTime: csms.Now(p.App.Heartbeat(ctx, c.StationID)), Interval: int(interval.Seconds())}, nil
		})
	}
}
