package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["Heartbeat"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, _ *v201.HeartbeatRequest) (*v201.HeartbeatResponse, error) {
			return &v201.HeartbeatResponse{CurrentTime: csms.Now(p.App.Heartbeat(ctx, c.StationID))}, nil
		})
	}
}
