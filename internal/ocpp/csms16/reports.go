package csms16

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// Station reports that EVCS keeps as events and acknowledges.
func init() {
	routes["DiagnosticsStatusNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.DiagnosticsStatusNotificationRequest) (*v16.DiagnosticsStatusNotificationResponse, error) {
			return &v16.DiagnosticsStatusNotificationResponse{}, p.app.StationEvent(ctx, c.StationID, "DiagnosticsStatusNotification", raw(r))
		})
	}
	routes["FirmwareStatusNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.FirmwareStatusNotificationRequest) (*v16.FirmwareStatusNotificationResponse, error) {
			return &v16.FirmwareStatusNotificationResponse{}, p.app.StationEvent(ctx, c.StationID, "FirmwareStatusNotification", raw(r))
		})
	}
	routes["SecurityEventNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.SecurityEventNotificationRequest) (*v16.SecurityEventNotificationResponse, error) {
			return &v16.SecurityEventNotificationResponse{}, p.app.StationEvent(ctx, c.StationID, "SecurityEventNotification", raw(r))
		})
	}
	routes["LogStatusNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.LogStatusNotificationRequest) (*v16.LogStatusNotificationResponse, error) {
			return &v16.LogStatusNotificationResponse{}, p.app.StationEvent(ctx, c.StationID, "LogStatusNotification", raw(r))
		})
	}
	routes["SignedFirmwareStatusNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.SignedFirmwareStatusNotificationRequest) (*v16.SignedFirmwareStatusNotificationResponse, error) {
			return &v16.SignedFirmwareStatusNotificationResponse{}, p.app.StationEvent(ctx, c.StationID, "SignedFirmwareStatusNotification", raw(r))
		})
	}
}
