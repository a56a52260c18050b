package csms16

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["Heartbeat"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, _ *v16.HeartbeatRequest) (*v16.HeartbeatResponse, error) {
			return &v16.HeartbeatResponse{CurrentTime: csms.Now(p.app.Heartbeat(ctx, c.StationID))}, nil
		})
	}
}
