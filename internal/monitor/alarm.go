// Package monitor holds alarms and the rules that raise and clear them: types and pure
// functions of state and time, no I/O. app feeds the rules (station presence, connector
// status, device samples, batteries, station reports) and stores what they decide.
package monitor

import (
	"maps"
	"time"

	"github.com/evcs/evcs/internal/errs"
)

// Severities, from least to most urgent.
const (
	Info     = "info"
	Warning  = "warning"
	Critical = "critical"
)

// SeverityRank orders severities (unknown: 0).
func SeverityRank(s string) int {
	switch s {
	case Info:
		return 1
	case Warning:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// Alarm statuses: raised → acknowledged → cleared (or raised → cleared).
const (
	Raised       = "raised"
	Acknowledged = "acknowledged"
	Cleared      = "cleared"
)

// Open reports whether an alarm in status s still needs attention.
func Open(s string) bool { return s == Raised || s == Acknowledged }

// Alarm kinds.
const (
	KindStationOffline    = "station_offline"
	KindConnectorFaulted  = "connector_faulted"
	KindNodeOverload      = "node_overload"
	KindVoltageTHD        = "voltage_thd_high"
	KindCurrentTHD        = "current_thd_high"
	KindPowerFactorLow    = "power_factor_low"
	KindBatterySoHLow     = "battery_soh_low"
	KindBatteryOverTemp   = "battery_over_temperature"
	KindFirmwareFailed    = "firmware_update_failed"
	KindSecurityEvent     = "security_event"
	KindDeviceUnreachable = "device_unreachable"
)

// Kinds lists every alarm kind.
var Kinds = []string{KindStationOffline, KindConnectorFaulted, KindNodeOverload, KindVoltageTHD, KindCurrentTHD,
	KindPowerFactorLow, KindBatterySoHLow, KindBatteryOverTemp, KindFirmwareFailed, KindSecurityEvent, KindDeviceUnreachable}

// Alarm is a condition that needs an operator's attention. At most one alarm per source and
// kind is open at a time: raising it again updates the open one.
type Alarm struct {
	ID        string            `json:"id"`
	Source    string            `json:"source" doc:"what the alarm is about: station/{id}, connector/{station}/{evse}/{connector}, node/{id}, device/{id}, battery/{id}"`
	Kind      string            `json:"kind"`
	Severity  string            `json:"severity" enum:"info,warning,critical"`
	Status    string            `json:"status" enum:"raised,acknowledged,cleared"`
	StationID string            `json:"station_id,omitempty"`
	SiteID    string            `json:"site_id,omitempty"`
	Message   string            `json:"message"`
	Details   map[string]string `json:"details,omitempty" doc:"e.g. the OCPP error_code of a Faulted connector, the measured value and the limit"`
	Count     int               `json:"count" doc:"how often the condition was reported while the alarm was open"`
	RaisedAt  time.Time         `json:"raised_at"`
	LastAt    time.Time         `json:"last_raised_at"`
	AckedAt   *time.Time        `json:"acknowledged_at,omitempty"`
	AckedBy   string            `json:"acknowledged_by,omitempty"`
	ClearedAt *time.Time        `json:"cleared_at,omitempty"`
	ClearedBy string            `json:"cleared_by,omitempty" doc:"\"system\" when the condition ended by itself"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Key identifies the open alarm of a source and kind.
func (a *Alarm) Key() string { return Key(a.Source, a.Kind) }

// Key identifies the open alarm of a source and kind.
func Key(source, kind string) string { return source + "\x00" + kind }

// Condition is what a rule decided about one source and kind: the alarm should be open
// (Active) with this severity and text, or the condition has ended.
type Condition struct {
	Source    string
	Kind      string
	Active    bool
	Severity  string
	StationID string
	SiteID    string
	Message   string
	Details   map[string]string
	// Event marks a one-off report (a security event): every report counts, and the alarm
	// ends only when an operator clears it.
	Event bool
}

// Key identifies the alarm the condition is about.
func (c Condition) Key() string { return Key(c.Source, c.Kind) }

// Change says what Raise did.
type Change int

const (
	Unchanged Change = iota
	Created          // a new alarm
	Updated          // the open alarm changed severity or counted another event: announce it
	Refreshed        // only the text or details changed (a measured value): store, do not announce
)

// Raise applies an active condition to the open alarm of its source and kind (nil if none).
// A new alarm gets id. An open alarm is updated in place, never duplicated; one escalated to
// a higher severity is raised again even if it was acknowledged, so the operator sees it.
func Raise(open *Alarm, c Condition, id string, now time.Time) (*Alarm, Change) {
	if open == nil || !Open(open.Status) {
		return &Alarm{ID: id, Source: c.Source, Kind: c.Kind, Severity: c.Severity, Status: Raised, StationID: c.StationID,
			SiteID: c.SiteID, Message: c.Message, Details: maps.Clone(c.Details), Count: 1, RaisedAt: now, LastAt: now, UpdatedAt: now}, Created
	}
	sameText := open.Message == c.Message && maps.Equal(open.Details, c.Details)
	change := Refreshed
	switch {
	case open.Severity != c.Severity || c.Event:
		change = Updated
	case sameText:
		return open, Unchanged
	}
	a := *open
	if SeverityRank(c.Severity) > SeverityRank(a.Severity) && a.Status == Acknowledged {
		a.Status, a.AckedAt, a.AckedBy = Raised, nil, ""
	}
	a.Severity, a.Message, a.Details = c.Severity, c.Message, maps.Clone(c.Details)
	if c.StationID != "" {
		a.StationID = c.StationID
	}
	if c.SiteID != "" {
		a.SiteID = c.SiteID
	}
	if c.Event {
		a.Count++
	}
	a.LastAt, a.UpdatedAt = now, now
	return &a, change
}

// Acknowledge marks an alarm seen by an operator. Only a raised alarm can be acknowledged.
func Acknowledge(a *Alarm, by string, now time.Time) (*Alarm, error) {
	switch a.Status {
	case Acknowledged:
		return nil, errs.E(errs.Conflict, "alarm %s is already acknowledged", a.ID)
	case Cleared:
		return nil, errs.E(errs.Conflict, "alarm %s is cleared", a.ID)
	}
	c := *a
	c.Status, c.AckedAt, c.AckedBy, c.UpdatedAt = Acknowledged, &now, by, now
	return &c, nil
}

// Clear ends an open alarm; by is the operator, or "system" when the condition ended.
func Clear(a *Alarm, by string, now time.Time) (*Alarm, error) {
	if !Open(a.Status) {
		return nil, errs.E(errs.Conflict, "alarm %s is already cleared", a.ID)
	}
	c := *a
	c.Status, c.ClearedAt, c.ClearedBy, c.UpdatedAt = Cleared, &now, by, now
	return &c, nil
}
