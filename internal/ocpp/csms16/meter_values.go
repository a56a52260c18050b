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
	routes["MeterValues"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.MeterValuesRequest) (*v16.MeterValuesResponse, error) {
			rs, err := readings(r.MeterValue, r.ConnectorID)
			if err != nil {
				return nil, err
			}
			tx := ""
			if r.TransactionID != nil {
				tx = strconv.Itoa(*r.TransactionID)
			}
			err = p.app.MeterValues(ctx, app.MeterInput{StationID: c.StationID, EVSENo: r.ConnectorID, TxRef: tx, Readings: rs})
			return &v16.MeterValuesResponse{}, err
		})
	}
}
