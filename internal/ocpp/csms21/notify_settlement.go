package csms21

import (
	"context"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms"
	"github.com/evcs/evcs/internal/ocpp/csms201"
	v21 "github.com/evcs/evcs/internal/ocpp/v21"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// notifySettlement records a payment terminal's settlement and reconciles it with the session
// its transactionId names (app.RecordSettlement). The answer echoes the receipt the station
// sent, if any: EVCS issues its own receipts over the API.
func notifySettlement(p *csms201.Protocol) csms.Route {
	return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v21.NotifySettlementRequest) (*v21.NotifySettlementResponse, error) {
		at, err := csms.Time("settlementTime", r.SettlementTime)
		if err != nil {
			return nil, err
		}
		in := app.SettlementInput{StationID: c.StationID, TransactionID: r.TransactionID, PspRef: r.PspRef, Status: string(r.Status),
			StatusInfo: r.StatusInfo, Amount: csms.Float(r.SettlementAmount), At: at, ReceiptID: r.ReceiptID, ReceiptURL: r.ReceiptURL,
			VATNumber: r.VatNumber}
		if _, err := p.App.RecordSettlement(ctx, in); err != nil {
			return nil, err
		}
		return &v21.NotifySettlementResponse{ReceiptID: r.ReceiptID, ReceiptURL: r.ReceiptURL}, nil
	})
}
