package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["StatusNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v201.StatusNotificationRequest) (*v201.StatusNotificationResponse, error) {
			at, err := csms.Time("timestamp", r.Timestamp)
			if err != nil {
				return nil, err
			}
			err = p.App.Status(ctx, charging.StatusChange{StationID: c.StationID, EVSENo: r.EvseID, ConnectorNo: r.ConnectorID, Status: string(r.ConnectorStatus), At: at})
			return &v201.StatusNotificationResponse{}, err
		})
	}
}
