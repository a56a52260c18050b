// Package csms21 is the OCPP 2.1 route table: the 2.0.1 table (csms201) over the 2.1 schemas,
// plus the actions 2.1 adds. Battery swap, settlement and V2X actions are kept as station events
// here; their use cases hook in as they are built.
package csms21

import (
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/ocpp/csms201"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	v21 "github.com/evcs/evcs/internal/ocpp/v21"
)

// Reports2_1 are the 2.1-only station notifications kept as events and acknowledged with an
// empty answer.
var Reports2_1 = []string{"NotifyDERAlarm", "NotifyDERStartStop", "NotifyPriorityCharging",
	"ReportDERControl", "NotifyPeriodicEventStream", "ClosePeriodicEventStream", "NotifyWebPaymentStarted"}

// New builds the 2.1 protocol.
func New(a *app.App) *csms201.Protocol {
	p := csms201.NewFor(a, ocppj.V21, csms201.Schemas{ValidateRequest: v21.ValidateRequest, ValidateResponse: v21.ValidateResponse, DecodeRequest: v21.DecodeRequest})
	for _, action := range Reports2_1 {
		p.Table.Routes[action] = p.Report(action)
	}
	p.Table.Routes["NotifySettlement"] = notifySettlement(p)
	p.Table.Routes["BatterySwap"] = batterySwap(p)
	return p
}
