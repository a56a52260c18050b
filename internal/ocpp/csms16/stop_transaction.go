package csms16

import (
	"context"
	"strconv"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["StopTransaction"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.StopTransactionRequest) (*v16.StopTransactionResponse, error) {
			at, err := csms.Time("timestamp", r.Timestamp)
			if err != nil {
				return nil, err
			}
			rs, err := readings(r.TransactionData, 0)
			if err != nil {
				return nil, err
			}
			_, auth, err := p.app.StopSession(ctx, app.StopInput{StationID: c.StationID, TxRef: strconv.Itoa(r.TransactionID), MeterStop: int64(r.MeterStop),
				At: at, Reason: string(r.Reason), IdToken: r.IDTag, Readings: rs})
			if err != nil {
				return nil, err
			}
			res := &v16.StopTransactionResponse{}
			if auth != nil {
				info := idTagInfo(*auth)
				res.IDTagInfo = &info
			}
			return res, nil
		})
	}
}
