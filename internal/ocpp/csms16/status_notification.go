package csms16

import (
	"context"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/csms"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

func init() {
	routes["StatusNotification"] = func(p *Protocol) csms.Route {
		return csms.On(func(ctx context.Context, c *wsserver.Conn, r *v16.StatusNotificationRequest) (*v16.StatusNotificationResponse, error) {
			at := p.app.Heartbeat(ctx, c.StationID)
			if r.Timestamp != "" {
				t, err := csms.Time("timestamp", r.Timestamp)
				if err != nil {
					return nil, err
				}
				at = t
			}
			// 1.6 has one number per outlet: it is both the EVSE and its only connector (0 = the station).
			conn := 1
			if r.ConnectorID == 0 {
				conn = 0
			}
			ec := string(r.ErrorCode)
			if ec == "NoError" {
				ec = ""
			}
			err := p.app.Status(ctx, charging.StatusChange{StationID: c.StationID, EVSENo: r.ConnectorID, ConnectorNo: conn, Status: string(r.Status),
				ErrorCode: ec, Info: r.Info, VendorErrorCode: r.VendorErrorCode, At: at})
			return &v16.StatusNotificationResponse{}, err
		})
	}
}
