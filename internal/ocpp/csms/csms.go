// Package csms holds what the per-version route tables (csms16, csms201, csms21) share: the
// typed route adapter, the mapping of app errors to CALLERRORs, and time and value parsing.
package csms

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/obs"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
)

// Route answers one action: it gets the typed, validated request and returns the typed response.
type Route func(ctx context.Context, c *wsserver.Conn, req any) (any, error)

// On adapts a typed handler to a Route.
func On[Req, Res any](fn func(ctx context.Context, c *wsserver.Conn, req *Req) (*Res, error)) Route {
	return func(ctx context.Context, c *wsserver.Conn, req any) (any, error) {
		r, ok := req.(*Req)
		if !ok {
			return nil, errs.E(errs.Internal, "route: got %T", req)
		}
		return fn(ctx, c, r)
	}
}

// Table is a version's route table: decode (validating) and route.
type Table struct {
	Decode func(action string, payload []byte) (any, *ocppj.Error)
	Routes map[string]Route
}

// Handle decodes and routes a CALL, and encodes the answer. It counts and times every CALL
// by action and result (evcs_ocpp_messages_total, evcs_ocpp_message_duration_seconds); an
// action the version does not define is counted as "unknown", so a station cannot grow the
// label set.
func (t *Table) Handle(ctx context.Context, c *wsserver.Conn, action string, payload []byte) ([]byte, *ocppj.Error) {
	start := time.Now()
	out, err := t.handle(ctx, c, action, payload)
	label, result := action, "ok"
	if err != nil {
		result = err.Kind.Code(c.Version())
		if err.Kind == ocppj.NotImplemented {
			label = "unknown"
		}
	}
	proto := c.Version().Subprotocol()
	obs.OCPPMessages.WithLabelValues(proto, label, result).Inc()
	obs.OCPPMessageDuration.WithLabelValues(proto, label).Observe(time.Since(start).Seconds())
	return out, err
}

func (t *Table) handle(ctx context.Context, c *wsserver.Conn, action string, payload []byte) ([]byte, *ocppj.Error) {
	route, ok := t.Routes[action]
	if !ok {
		if _, derr := t.Decode(action, []byte("{}")); derr != nil && derr.Kind == ocppj.NotImplemented {
			return nil, ocppj.Errorf(ocppj.NotImplemented, "unknown action %s", action)
		}
		return nil, ocppj.Errorf(ocppj.NotSupported, "%s is not supported by EVCS", action)
	}
	req, derr := t.Decode(action, payload)
	if derr != nil {
		return nil, derr
	}
	res, err := route(ctx, c, req)
	if err != nil {
		switch {
		case ctx.Err() != nil: // the connection closed (or the server stops): nobody hears the answer
			c.Logger().InfoContext(ctx, "a CALL was left unanswered: its connection closed", "action", action, "err", err)
		case errs.KindOf(err) == errs.Internal: // the station hears "internal error"; the log keeps why
			c.Logger().ErrorContext(ctx, "handling a CALL failed", "action", action, "err", err)
		}
		return nil, callError(err)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, ocppj.Errorf(ocppj.InternalError, "encode response")
	}
	return out, nil
}

// callError maps an app error to a CALLERROR, once.
func callError(err error) *ocppj.Error {
	switch errs.KindOf(err) {
	case errs.Invalid:
		return ocppj.Errorf(ocppj.PropertyConstraintViolation, "%s", errs.Message(err))
	case errs.NotFound, errs.Conflict:
		return ocppj.Errorf(ocppj.GenericError, "%s", errs.Message(err))
	case errs.Unauthorized, errs.Forbidden:
		return ocppj.Errorf(ocppj.SecurityError, "%s", errs.Message(err))
	}
	return ocppj.Errorf(ocppj.InternalError, "internal error")
}

// Time parses an OCPP timestamp (RFC 3339; a missing offset is taken as UTC, as real stations
// send it). An unparseable time is an Invalid error naming field.
func Time(field, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return time.Time{}, errs.Field(field, "%q is not an RFC 3339 time", s)
}

// Now formats a time as OCPP wants it.
func Now(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Float formats a 2.x meter value exactly: the shortest decimal that reads back as the same
// float64 is the decimal the station sent, for any value of up to 15 significant digits.
func Float(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// EVSEString is strconv.Itoa, for transaction ids.
func EVSEString(i int) string { return strconv.Itoa(i) }

// Status returns the "status" field of a station's answer, if it has one.
func Status(raw json.RawMessage) string {
	var s struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(raw, &s)
	return s.Status
}

// ResetType maps the neutral reset type to 1.6 (Soft/Hard) or 2.x (OnIdle/Immediate).
func ResetType(neutral string, v16 bool) string {
	hard := neutral == "hard" || neutral == "immediate"
	switch {
	case v16 && hard:
		return "Hard"
	case v16:
		return "Soft"
	case hard:
		return "Immediate"
	}
	return "OnIdle"
}

// SplitKey splits "component.variable" (2.x) into its parts.
func SplitKey(key string) (component, variable string) {
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		return key[:i], key[i+1:]
	}
	return key, ""
}
