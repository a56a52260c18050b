package csms16

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["Authorize"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.AuthorizeRequest) (*v16.AuthorizeResponse, error) {
			res, err := p.app.Authorize(ctx, c.StationID, r.IDTag)
			if err != nil {
				return nil, err
			}
			return &v16.AuthorizeResponse{IDTagInfo: idTagInfo(res)}, nil
		})
	}
}
