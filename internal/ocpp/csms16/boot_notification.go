package csms16

import (
	"context"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["BootNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.BootNotificationRequest) (*v16.BootNotificationResponse, error) {
			serial := r.ChargePointSerialNumber
			if serial == "" {
				serial = r.ChargeBoxSerialNumber
			}
			interval, err := p.app.Boot(ctx, app.BootInfo{StationID: c.StationID, Vendor: r.ChargePointVendor, Model: r.ChargePointModel,
				Serial: serial, Firmware: r.FirmwareVersion, Protocol: "ocpp1.6"})
			if err != nil {
				return nil, err
			}
			return &v16.BootNotificationResponse{Status: "Accepted", CurrentTime: csms.Now(p.app.Heartbeat(ctx, c.StationID)), Interval: int(interval.Seconds())}, nil
		})
	}
}
