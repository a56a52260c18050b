package store

import (
	"context"
	"time"

	"github.com/evcs/evcs/internal/monitor"
)

// Monitor stores alarms, device readings and station presence.
type Monitor interface {
	// CreateAlarm stores a new alarm; a second open alarm of the same source and kind is
	// refused with errs Conflict (another node raised it first).
	CreateAlarm(ctx context.Context, a *monitor.Alarm) error
	// UpdateAlarm stores an alarm's new state.
	UpdateAlarm(ctx context.Context, a *monitor.Alarm) error
	// Alarm returns one alarm.
	Alarm(ctx context.Context, id string) (*monitor.Alarm, error)
	// OpenAlarm returns the open alarm of a source and kind (errs NotFound if none).
	OpenAlarm(ctx context.Context, source, kind string) (*monitor.Alarm, error)
	// OpenAlarms returns every open (raised or acknowledged) alarm.
	OpenAlarms(ctx context.Context) ([]monitor.Alarm, error)
	// Alarms pages alarms in id (raise) order; filters: status, severity, source, kind,
	// station_id, site_id.
	Alarms(ctx context.Context, q Query) ([]monitor.Alarm, string, error)

	// AddDeviceReadings stores device readings.
	AddDeviceReadings(ctx context.Context, rs []monitor.DeviceReading) error
	// DeviceReadings pages a device's readings, newest first (filters: quantity, phase).
	DeviceReadings(ctx context.Context, deviceID string, q ReadingQuery) ([]monitor.DeviceReading, string, error)

	// SetPresence stores stations' presence (insert or replace).
	SetPresence(ctx context.Context, ps []monitor.Presence) error
	// Presence returns every station's presence.
	Presence(ctx context.Context) ([]monitor.Presence, error)
}

// ReadingQuery selects a page of device readings.
type ReadingQuery struct {
	Quantity, Phase string
	From, To        time.Time // zero: unbounded; From inclusive, To exclusive
	Limit           int       // 1..1000, default 100
	Cursor          string
}
