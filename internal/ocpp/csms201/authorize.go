package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["Authorize"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v201.AuthorizeRequest) (*v201.AuthorizeResponse, error) {
			res, err := p.App.Authorize(ctx, c.StationID, r.IDToken.IDToken)
			if err != nil {
				return nil, err
			}
			return &v201.AuthorizeResponse{IDTokenInfo: IdTokenInfo(res)}, nil
		})
	}
}
