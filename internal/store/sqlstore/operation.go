package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
)

var (
	sessions = &table[charging.Session]{name: "sessions", entity: "session",
		cols: []string{"station_id", "evse_no", "tx_ref", "account_id", "id_token", "kind", "energy_wh", "exported_wh", "start_key",
			"vehicle_id", "tariff_id", "currency", "cost_milli", "stopped_at"},
		vals: func(v *charging.Session) []any {
			return []any{v.StationID, v.EVSENo, v.TxRef, v.AccountID, v.IdToken, v.Kind, v.EnergyWh, v.ExportedWh, v.StartKey,
				v.VehicleID, v.TariffID, v.Currency, milliOrUnset(v.CostMinor, v.Currency), microsOrZero(v.StoppedAt)}
		},
		meta: func(v *charging.Session) meta { return meta{&v.ID, &v.Status, &v.StartedAt, &v.UpdatedAt} }}
	stationEvents = &table[charging.StationEvent]{name: "station_events", entity: "station event",
		cols: []string{"station_id", "kind"},
		vals: func(v *charging.StationEvent) []any { return []any{v.StationID, v.Kind} },
		meta: func(v *charging.StationEvent) meta { return meta{ID: &v.ID, CreatedAt: &v.At, UpdatedAt: &v.At} }}
	commands = &table[charging.Command]{name: "commands", entity: "command",
		cols: []string{"station_id", "action", "actor"},
		vals: func(v *charging.Command) []any { return []any{v.StationID, v.Action, v.Actor} },
		meta: func(v *charging.Command) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
)

func (t *tx) Events() store.Repo[charging.StationEvent] { return bind(t, stationEvents) }
func (t *tx) Commands() store.Repo[charging.Command]    { return bind(t, commands) }

// AddReadings inserts readings in multi-row statements.
func (t *tx) AddReadings(ctx context.Context, rs []charging.Reading) error {
	const cols = 10
	const perStmt = 80 // stays under SQLite's and PostgreSQL's parameter limits
	for len(rs) > 0 {
		n := min(len(rs), perStmt)
		var b strings.Builder
		b.WriteString("INSERT INTO meter_readings (session_id, station_id, evse_no, at, measurand, phase, location, context, unit, value_milli) VALUES ")
		args := make([]any, 0, n*cols)
		for i, r := range rs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, r.SessionID, r.StationID, r.EVSENo, micros(r.At), r.Measurand, r.Phase, r.Location, r.Context, r.Unit, r.Milli)
		}
		if _, err := t.q.ExecContext(ctx, t.db.rebind(b.String()), args...); err != nil {
			return t.db.mapErr("add readings", err)
		}
		rs = rs[n:]
	}
	return nil
}

// Readings returns a session's readings in time order.
func (t *tx) Readings(ctx context.Context, sessionID string) ([]charging.Reading, error) {
	rows, err := t.q.QueryContext(ctx, t.db.rebind("SELECT station_id, evse_no, at, measurand, phase, location, context, unit, value_milli FROM meter_readings WHERE session_id = ? ORDER BY at"), sessionID)
	if err != nil {
		return nil, t.db.mapErr("readings", err)
	}
	defer rows.Close()
	var out []charging.Reading
	for rows.Next() {
		r := charging.Reading{SessionID: sessionID}
		var at int64
		if err := rows.Scan(&r.StationID, &r.EVSENo, &at, &r.Measurand, &r.Phase, &r.Location, &r.Context, &r.Unit, &r.Milli); err != nil {
			return nil, t.db.mapErr("readings", err)
		}
		r.At = time.UnixMicro(at).UTC()
		out = append(out, r)
	}
	return out, t.db.mapErr("readings", rows.Err())
}

// AddStatus records a status report in the history and as the live status.
func (t *tx) AddStatus(ctx context.Context, c charging.StatusChange) error {
	args := []any{c.StationID, c.EVSENo, c.ConnectorNo, c.Status, c.ErrorCode, c.Info, c.VendorErrorCode, micros(c.At)}
	if _, err := t.q.ExecContext(ctx, t.db.rebind("INSERT INTO status_changes (station_id, evse_no, connector_no, status, error_code, info, vendor_error_code, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"), args...); err != nil {
		return t.db.mapErr("add status", err)
	}
	// A late report (queued offline) never overwrites a newer live status.
	_, err := t.q.ExecContext(ctx, t.db.rebind(`INSERT INTO connector_status (station_id, evse_no, connector_no, status, error_code, info, vendor_error_code, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (station_id, evse_no, connector_no) DO UPDATE SET status = excluded.status, error_code = excluded.error_code,
		info = excluded.info, vendor_error_code = excluded.vendor_error_code, at = excluded.at
		WHERE excluded.at >= connector_status.at`), args...)
	return t.db.mapErr("add status", err)
}

// LiveStatus returns the latest status of each connector of a station ("" = all stations).
func (t *tx) LiveStatus(ctx context.Context, stationID string) ([]charging.StatusChange, error) {
	q := "SELECT station_id, evse_no, connector_no, status, error_code, info, vendor_error_code, at FROM connector_status"
	var args []any
	if stationID != "" {
		q += " WHERE station_id = ?"
		args = append(args, stationID)
	}
	rows, err := t.q.QueryContext(ctx, t.db.rebind(q+" ORDER BY station_id, evse_no, connector_no"), args...)
	if err != nil {
		return nil, t.db.mapErr("live status", err)
	}
	defer rows.Close()
	var out []charging.StatusChange
	for rows.Next() {
		var c charging.StatusChange
		var at int64
		if err := rows.Scan(&c.StationID, &c.EVSENo, &c.ConnectorNo, &c.Status, &c.ErrorCode, &c.Info, &c.VendorErrorCode, &at); err != nil {
			return nil, t.db.mapErr("live status", err)
		}
		c.At = time.UnixMicro(at).UTC()
		out = append(out, c)
	}
	return out, t.db.mapErr("live status", rows.Err())
}

// Next increments and returns a named counter (starting at 1).
// NextTransactionNo draws from a sequence where the engine has one (PostgreSQL: concurrent
// transactions never wait on it); SQLite has one writer, so its counter row is no contention.
func (t *tx) NextTransactionNo(ctx context.Context) (int64, error) {
	if t.db.d.TxNoSQL == "" {
		return t.Next(ctx, "ocpp16_transaction")
	}
	var v int64
	err := t.q.QueryRowContext(ctx, t.db.d.TxNoSQL).Scan(&v)
	return v, t.db.mapErr("transaction number", err)
}

func (t *tx) Next(ctx context.Context, name string) (int64, error) {
	var v int64
	err := t.q.QueryRowContext(ctx, t.db.rebind("INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"), name).Scan(&v)
	return v, t.db.mapErr("counter", err)
}
