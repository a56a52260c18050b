package csms16

import (
	"context"

	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// VendorID is EVCS's own DataTransfer vendor id; other vendors' messages are kept and answered
// UnknownVendorId as OCPP 1.6 §5.6 asks.
const VendorID = "org.evcs"

func init() {
	routes["DataTransfer"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.DataTransferRequest) (*v16.DataTransferResponse, error) {
			if err := p.app.StationEvent(ctx, c.StationID, "DataTransfer", raw(r)); err != nil {
				return nil, err
			}
			if r.VendorID != VendorID {
				return &v16.DataTransferResponse{Status: "UnknownVendorId"}, nil
			}
			// Battery swapping for stations without OCPP 2.1 (message ids: app.SwapVendorID).
			st, reason, err := p.app.SwapDataTransfer(ctx, c.StationID, r.MessageID, raw(r.Data))
			if err != nil {
				return nil, err
			}
			return &v16.DataTransferResponse{Status: v16.DataTransferResponseStatus(st), Data: reason}, nil
		})
	}
}
