package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// Reports are station notifications that EVCS keeps as events and acknowledges with an empty
// answer (their responses have no required fields).
var Reports = []string{"NotifyReport", "NotifyEvent", "SecurityEventNotification", "FirmwareStatusNotification",
	"LogStatusNotification", "NotifyMonitoringReport", "ReservationStatusUpdate", "NotifyChargingLimit",
	"ClearedChargingLimit", "ReportChargingProfiles", "NotifyDisplayMessages", "NotifyCustomerInformation",
	"PublishFirmwareStatusNotification"}

func init() {
	for _, action := range Reports {
		routes[action] = func(p *Protocol) csms.Route { return p.Report(action) }
	}
}

// Report is the route of a notification kept as an event.
func (p *Protocol) Report(action string) csms.Route {
	return func(ctx context.Context, c *wsserver.Conn, req any) (any, error) {
		if err := p.App.StationEvent(ctx, c.StationID, action, Raw(req)); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	}
}
