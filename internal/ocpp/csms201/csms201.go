// Package csms201 is the OCPP 2.0.1 route table: each inbound action in a file of its own. OCPP
// 2.1 keeps these messages (adding optional fields), so csms21 reuses this table over the 2.1
// schemas and adds its own actions.
package csms201

import (
	"context"
	"encoding/json"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/csms"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// Schemas are the validators of the version a Protocol speaks.
type Schemas struct {
	ValidateRequest  func(action string, payload []byte) *ocppj.Error
	ValidateResponse func(action string, payload []byte) *ocppj.Error
	DecodeRequest    func(action string, payload []byte) (any, *ocppj.Error)
}

// Protocol is OCPP 2.0.1 (or 2.1 through csms21).
type Protocol struct {
	App     *app.App
	version ocppj.Version
	schemas Schemas
	Table   csms.Table
}

// routes is filled by each action's file.
var routes = map[string]func(p *Protocol) csms.Route{}

// New builds the 2.0.1 protocol.
func New(a *app.App) *Protocol {
	return NewFor(a, ocppj.V201, Schemas{ValidateRequest: v201.ValidateRequest, ValidateResponse: v201.ValidateResponse, DecodeRequest: v201.DecodeRequest})
}

// NewFor builds the 2.0.1 route table for version v: requests are checked against v's schemas
// and decoded into the 2.0.1 types (2.1's additions are optional fields these handlers do not use).
func NewFor(a *app.App, v ocppj.Version, s Schemas) *Protocol {
	p := &Protocol{App: a, version: v, schemas: s}
	p.Table = csms.Table{Decode: p.decode, Routes: map[string]csms.Route{}}
	for action, mk := range routes {
		p.Table.Routes[action] = mk(p)
	}
	return p
}

func (p *Protocol) decode(action string, payload []byte) (any, *ocppj.Error) {
	if p.version == ocppj.V201 {
		return p.schemas.DecodeRequest(action, payload)
	}
	if err := p.schemas.ValidateRequest(action, payload); err != nil {
		return nil, err
	}
	req := v201.NewRequest(action)
	if req == nil {
		return p.schemas.DecodeRequest(action, payload) // an action 2.0.1 does not have
	}
	if err := json.Unmarshal(payload, req); err != nil {
		return nil, ocppj.Errorf(ocppj.FormationViolation, "%v", err)
	}
	return req, nil
}

// Version is the version spoken.
func (p *Protocol) Version() ocppj.Version { return p.version }

// Handle answers a CALL.
func (p *Protocol) Handle(ctx context.Context, c *wsserver.Conn, action string, payload []byte) ([]byte, *ocppj.Error) {
	return p.Table.Handle(ctx, c, action, payload)
}

// ValidateResponse checks a station's answer.
func (p *Protocol) ValidateResponse(action string, payload []byte) *ocppj.Error {
	return p.schemas.ValidateResponse(action, payload)
}

// IdTokenInfo maps a neutral authorization to 2.x.
func IdTokenInfo(r charging.AuthResult) v201.IdTokenInfoType {
	info := v201.IdTokenInfoType{Status: v201.AuthorizationStatusEnumType(r.Status)}
	if r.ExpiresAt != nil {
		info.CacheExpiryDateTime = csms.Now(*r.ExpiresAt)
	}
	if r.GroupID != "" {
		info.GroupIDToken = &v201.IdTokenType{IDToken: r.GroupID, Type: "Central"}
	}
	return info
}

// Readings converts 2.x meter values.
func Readings(mvs []v201.MeterValueType, evse int) ([]charging.Reading, error) {
	var out []charging.Reading
	for _, mv := range mvs {
		at, err := csms.Time("meterValue.timestamp", mv.Timestamp)
		if err != nil {
			return nil, err
		}
		for _, sv := range mv.SampledValue {
			unit, mult := "", 0
			if sv.UnitOfMeasure != nil {
				unit = sv.UnitOfMeasure.Unit
				if sv.UnitOfMeasure.Multiplier != nil {
					mult = *sv.UnitOfMeasure.Multiplier
				}
			}
			m := string(sv.Measurand)
			if m == "" {
				m = charging.EnergyImport
			}
			milli, u, err := charging.ParseSample(csms.Float(sv.Value), m, unit, mult)
			if err != nil {
				return nil, err
			}
			out = append(out, charging.Reading{EVSENo: evse, At: at, Measurand: m, Phase: string(sv.Phase), Location: string(sv.Location), Context: string(sv.Context), Unit: u, Milli: milli})
		}
	}
	return out, nil
}

// Raw marshals v.
func Raw(v any) []byte { b, _ := json.Marshal(v); return b }
