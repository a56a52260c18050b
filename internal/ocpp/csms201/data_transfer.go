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
			// Battery swapping for stations without OCPP 2.1 (message ids: app.SwapVendorID).
			st, reason, err := p.App.SwapDataTransfer(ctx, c.StationID, r.MessageID, r.Data)
			if err != nil {
				return nil, err
			}
			res := &v201.DataTransferResponse{Status: v201.DataTransferStatusEnumType(st)}
			if reason != "" {
				res.StatusInfo = &v201.StatusInfoType{ReasonCode: "Rejected", AdditionalInfo: reason[:min(len(reason), 500)]}
			}
			return res, nil
		})
	}
}
