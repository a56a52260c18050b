package sqlstore

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
)

var alarmTable = &table[monitor.Alarm]{name: "alarms", entity: "alarm",
	cols: []string{"source", "kind", "severity", "station_id", "site_id"},
	vals: func(v *monitor.Alarm) []any { return []any{v.Source, v.Kind, v.Severity, v.StationID, v.SiteID} },
	meta: func(v *monitor.Alarm) meta { return meta{&v.ID, &v.Status, &v.RaisedAt, &v.UpdatedAt} }}

type monitorRepo struct{ t *tx }

func (t *tx) Monitor() store.Monitor { return monitorRepo{t} }

func (r monitorRepo) alarms() store.Repo[monitor.Alarm] { return bind(r.t, alarmTable) }

func (r monitorRepo) CreateAlarm(ctx context.Context, a *monitor.Alarm) error {
	return r.alarms().Create(ctx, a)
}

func (r monitorRepo) UpdateAlarm(ctx context.Context, a *monitor.Alarm) error {
	return r.alarms().Update(ctx, a)
}

func (r monitorRepo) Alarm(ctx context.Context, id string) (*monitor.Alarm, error) {
	return r.alarms().Get(ctx, id)
}

func (r monitorRepo) OpenAlarm(ctx context.Context, source, kind string) (*monitor.Alarm, error) {
	rr := r.alarms().(repo[monitor.Alarm])
	v, err := rr.scan(r.t.q.QueryRowContext(ctx, r.t.db.rebind("SELECT data FROM alarms WHERE source = ? AND kind = ? AND status <> ?"), source, kind, monitor.Cleared))
	if err != nil {
		if err = r.t.db.mapErr("open alarm", err); errs.Is(err, errs.NotFound) {
			return nil, errs.E(errs.NotFound, "no open %s alarm for %s", kind, source)
		}
		return nil, err
	}
	return v, nil
}

func (r monitorRepo) OpenAlarms(ctx context.Context) ([]monitor.Alarm, error) {
	rr := r.alarms().(repo[monitor.Alarm])
	rows, err := r.t.q.QueryContext(ctx, r.t.db.rebind("SELECT data FROM alarms WHERE status <> ? ORDER BY id"), monitor.Cleared)
	if err != nil {
		return nil, r.t.db.mapErr("open alarms", err)
	}
	defer rows.Close()
	var out []monitor.Alarm
	for rows.Next() {
		v, err := rr.scan(rows)
		if err != nil {
			return nil, r.t.db.mapErr("open alarms", err)
		}
		out = append(out, *v)
	}
	return out, r.t.db.mapErr("open alarms", rows.Err())
}

func (r monitorRepo) Alarms(ctx context.Context, q store.Query) ([]monitor.Alarm, string, error) {
	return r.alarms().List(ctx, q)
}

// AddDeviceReadings inserts readings in multi-row statements; a reading already stored (the
// same device, time, quantity and phase) is kept as it was.
func (r monitorRepo) AddDeviceReadings(ctx context.Context, rs []monitor.DeviceReading) error {
	const perStmt = 100
	for len(rs) > 0 {
		n := min(len(rs), perStmt)
		var b strings.Builder
		b.WriteString("INSERT INTO device_readings (device_id, at, quantity, phase, unit, value_milli) VALUES ")
		args := make([]any, 0, n*6)
		for i, x := range rs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, x.DeviceID, micros(x.At), x.Quantity, x.Phase, x.Unit, x.Milli)
		}
		b.WriteString(" ON CONFLICT (device_id, at, quantity, phase) DO NOTHING")
		if _, err := r.t.q.ExecContext(ctx, r.t.db.rebind(b.String()), args...); err != nil {
			return r.t.db.mapErr("add device readings", err)
		}
		rs = rs[n:]
	}
	return nil
}

// DeviceReadings pages newest first; the cursor is the last row's (at, quantity, phase).
func (r monitorRepo) DeviceReadings(ctx context.Context, deviceID string, q store.ReadingQuery) ([]monitor.DeviceReading, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	where := []string{"device_id = ?"}
	args := []any{deviceID}
	if q.Quantity != "" {
		where, args = append(where, "quantity = ?"), append(args, q.Quantity)
	}
	if q.Phase != "" {
		where, args = append(where, "phase = ?"), append(args, q.Phase)
	}
	if !q.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(q.From))
	}
	if !q.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, micros(q.To))
	}
	if q.Cursor != "" {
		at, qty, ph, ok := decodeReadingCursor(q.Cursor)
		if !ok {
			return nil, "", errs.Field("cursor", "not a cursor from this API")
		}
		where = append(where, "(at < ? OR (at = ? AND quantity > ?) OR (at = ? AND quantity = ? AND phase > ?))")
		args = append(args, at, at, qty, at, qty, ph)
	}
	args = append(args, limit+1)
	rows, err := r.t.q.QueryContext(ctx, r.t.db.rebind("SELECT at, quantity, phase, unit, value_milli FROM device_readings WHERE "+
		strings.Join(where, " AND ")+" ORDER BY at DESC, quantity, phase LIMIT ?"), args...)
	if err != nil {
		return nil, "", r.t.db.mapErr("device readings", err)
	}
	defer rows.Close()
	out := make([]monitor.DeviceReading, 0, limit)
	for rows.Next() {
		x := monitor.DeviceReading{DeviceID: deviceID}
		var at int64
		if err := rows.Scan(&at, &x.Quantity, &x.Phase, &x.Unit, &x.Milli); err != nil {
			return nil, "", r.t.db.mapErr("device readings", err)
		}
		x.At = time.UnixMicro(at).UTC()
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, "", r.t.db.mapErr("device readings", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		l := out[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(micros(l.At), 10) + "\x00" + l.Quantity + "\x00" + l.Phase))
	}
	return out, next, nil
}

func decodeReadingCursor(c string) (at int64, qty, phase string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", "", false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return 0, "", "", false
	}
	at, err = strconv.ParseInt(parts[0], 10, 64)
	return at, parts[1], parts[2], err == nil
}

func (r monitorRepo) SetPresence(ctx context.Context, ps []monitor.Presence) error {
	for _, p := range ps {
		_, err := r.t.q.ExecContext(ctx, r.t.db.rebind(`INSERT INTO station_presence (station_id, site_id, connected, last_seen) VALUES (?, ?, ?, ?)
			ON CONFLICT (station_id) DO UPDATE SET site_id = excluded.site_id, connected = excluded.connected, last_seen = excluded.last_seen`),
			p.StationID, p.SiteID, p.Connected, micros(p.LastSeen))
		if err != nil {
			return r.t.db.mapErr("set presence", err)
		}
	}
	return nil
}

func (r monitorRepo) Presence(ctx context.Context) ([]monitor.Presence, error) {
	rows, err := r.t.q.QueryContext(ctx, "SELECT station_id, site_id, connected, last_seen FROM station_presence ORDER BY station_id")
	if err != nil {
		return nil, r.t.db.mapErr("presence", err)
	}
	defer rows.Close()
	var out []monitor.Presence
	for rows.Next() {
		var p monitor.Presence
		var at int64
		if err := rows.Scan(&p.StationID, &p.SiteID, &p.Connected, &at); err != nil {
			return nil, r.t.db.mapErr("presence", err)
		}
		p.LastSeen = time.UnixMicro(at).UTC()
		out = append(out, p)
	}
	return out, r.t.db.mapErr("presence", rows.Err())
}
