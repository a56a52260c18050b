// Package csms16 is the OCPP 1.6J route table: each inbound action in a file of its own,
// translating the 1.6 message into a version-neutral app call and back.
package csms16

import (
	"context"
	"encoding/json"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/csms"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// Protocol is OCPP 1.6J.
type Protocol struct {
	app   *app.App
	table csms.Table
}

// routes is filled by each action's file.
var routes = map[string]func(p *Protocol) csms.Route{}

// New builds the 1.6 protocol over the use cases.
func New(a *app.App) *Protocol {
	p := &Protocol{app: a, table: csms.Table{Decode: v16.DecodeRequest, Routes: map[string]csms.Route{}}}
	for action, mk := range routes {
		p.table.Routes[action] = mk(p)
	}
	return p
}

// Version is 1.6.
func (p *Protocol) Version() ocppj.Version { return ocppj.V16 }

// Handle answers a CALL.
func (p *Protocol) Handle(ctx context.Context, c *wsserver.Conn, action string, payload []byte) ([]byte, *ocppj.Error) {
	return p.table.Handle(ctx, c, action, payload)
}

// ValidateResponse checks a station's answer.
func (p *Protocol) ValidateResponse(action string, payload []byte) *ocppj.Error {
	return v16.ValidateResponse(action, payload)
}

// idTagInfo maps a neutral authorization to 1.6, which has no NoCredit or Unknown.
func idTagInfo(r charging.AuthResult) v16.IDTagInfo {
	st := v16.IDTagInfoStatus(r.Status)
	switch r.Status {
	case charging.AuthNoCredit:
		st = v16.IDTagInfoStatusBlocked
	case charging.AuthUnknown:
		st = v16.IDTagInfoStatusInvalid
	}
	info := v16.IDTagInfo{Status: st, ParentIDTag: r.GroupID}
	if r.ExpiresAt != nil {
		info.ExpiryDate = csms.Now(*r.ExpiresAt)
	}
	return info
}

// readings converts 1.6 meter values.
func readings(mvs []v16.MeterValue, evse int) ([]charging.Reading, error) {
	var out []charging.Reading
	for _, mv := range mvs {
		at, err := csms.Time("meterValue.timestamp", mv.Timestamp)
		if err != nil {
			return nil, err
		}
		for _, sv := range mv.SampledValue {
			if sv.Format == "SignedData" {
				continue // signed meter data is kept only in the raw log, not as a number
			}
			milli, unit, err := charging.ParseSample(sv.Value, string(sv.Measurand), string(sv.Unit), 0)
			if err != nil {
				return nil, err
			}
			m := string(sv.Measurand)
			if m == "" {
				m = charging.EnergyImport
			}
			out = append(out, charging.Reading{EVSENo: evse, At: at, Measurand: m, Phase: string(sv.Phase), Location: string(sv.Location), Context: string(sv.Context), Unit: unit, Milli: milli})
		}
	}
	return out, nil
}

func raw(v any) []byte { b, _ := json.Marshal(v); return b }
