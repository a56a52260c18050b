package csms201

import (
	"context"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["TransactionEvent"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v201.TransactionEventRequest) (*v201.TransactionEventResponse, error) {
			at, err := csms.Time("timestamp", r.Timestamp)
			if err != nil {
				return nil, err
			}
			ev := app.TxEvent{StationID: c.StationID, Type: string(r.EventType), TxRef: r.TransactionInfo.TransactionID, SeqNo: r.SeqNo, At: at,
				Trigger: string(r.TriggerReason), ChargingState: string(r.TransactionInfo.ChargingState), StoppedReason: string(r.TransactionInfo.StoppedReason),
				ReservationID: r.ReservationID, Offline: r.Offline != nil && *r.Offline}
			if r.Evse != nil {
				ev.EVSENo = r.Evse.ID
				if r.Evse.ConnectorID != nil {
					ev.ConnectorNo = *r.Evse.ConnectorID
				}
			}
			if r.IDToken != nil {
				ev.IdToken = r.IDToken.IDToken
			}
			if ev.Readings, err = Readings(r.MeterValue, ev.EVSENo); err != nil {
				return nil, err
			}
			_, auth, err := p.App.TransactionEvent(ctx, ev)
			if err != nil {
				return nil, err
			}
			res := &v201.TransactionEventResponse{}
			if auth != nil {
				info := IdTokenInfo(*auth)
				res.IDTokenInfo = &info
			}
			return res, nil
		})
	}
}
