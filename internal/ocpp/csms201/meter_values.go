package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// MeterValues in 2.x carries readings outside transactions (transaction readings come in
// TransactionEvent).
func init() {
	routes["MeterValues"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v201.MeterValuesRequest) (*v201.MeterValuesResponse, error) {
			rs, err := Readings(r.MeterValue, r.EvseID)
			if err != nil {
				return nil, err
			}
			return &v201.MeterValuesResponse{}, p.App.MeterValues(ctx, app.MeterInput{StationID: c.StationID, EVSENo: r.EvseID, Readings: rs})
		})
	}
}
