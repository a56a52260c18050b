package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// VendorID is EVCS's own DataTransfer vendor id.
const VendorID = "org.evcs"

func init() {
	routes["DataTransfer"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v201.DataTransferRequest) (*v201.DataTransferResponse, error) {
			if err := p.App.StationEvent(ctx, c.StationID, "DataTransfer", Raw(r)); err != nil {
				return nil, err
			}
			if r.VendorID != VendorID {
				return &v201.DataTransferResponse{Status: "UnknownVendorId"}, nil
			}
			return &v201.DataTransferResponse{Status: "Accepted"}, nil
		})
	}
}
