package csms16

import (
	"context"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["StartTransaction"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.StartTransactionRequest) (*v16.StartTransactionResponse, error) {
			at, err := csms.Time("timestamp", r.Timestamp)
			if err != nil {
				return nil, err
			}
			s, auth, err := p.app.StartSession(ctx, app.StartInput{StationID: c.StationID, EVSENo: r.ConnectorID, IdToken: r.IDTag,
				MeterStart: int64(r.MeterStart), At: at, ReservationID: r.ReservationID})
			if err != nil {
				return nil, err
			}
			return &v16.StartTransactionResponse{IDTagInfo: idTagInfo(auth), TransactionID: int(s.TxNo)}, nil
		})
	}
}
