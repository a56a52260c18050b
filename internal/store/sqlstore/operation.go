package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"math/bits"
	"slices"
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

// AddReadings stores readings. They are written at the end of the transaction, with those of
// every other message of a batch, in a few multi-row statements: a batch of meter values costs a
// statement, not one per message. Readings reads them from memory until then.
func (t *tx) AddReadings(ctx context.Context, rs []charging.Reading) error {
	t.pendReadings = append(t.pendReadings, rs...)
	return nil
}

// AddStatus records a status report in the history and as the live status, at the end of the
// transaction (or before it next reads either) like AddReadings.
func (t *tx) AddStatus(ctx context.Context, c charging.StatusChange) error {
	t.pendStatus = append(t.pendStatus, c)
	return nil
}

// flushOps writes the readings and status reports the transaction holds back.
func (t *tx) flushOps(ctx context.Context) error {
	rs, cs := t.pendReadings, t.pendStatus
	t.pendReadings, t.pendStatus = nil, nil
	if err := t.writeReadings(ctx, rs); err != nil || len(cs) == 0 {
		return err
	}
	return t.writeStatus(ctx, cs)
}

// rowsPerStmt bounds the rows of a multi-row read (a batch's session prefetch): it stays
// under SQLite's and PostgreSQL's parameter limits. Writes take writeRows rows a statement.
const rowsPerStmt = 80

// writeRows is how many of n rows (n ≥ 1) the next multi-row write takes: the largest power of
// two not over n, at most 64. A batch's writes then come in seven statement texts per table
// (1, 2, 4, … 64 rows), all of which stay prepared. With a text per row count (up to 500 for
// the rollups) the 512 prepared statements SQLite's writer keeps were spent after a few
// seconds of load, and about a hundred statements a second of a few hundred parameters each
// were parsed and planned anew on the writer; on PostgreSQL pgx's statement cache (512 a
// connection) was thrashed the same way.
func writeRows(n int) int { return min(64, 1<<(bits.Len(uint(n))-1)) }

// valuesSQL is "INSERT … VALUES (?, …), (?, …)" with n rows of cols placeholders.
func valuesSQL(head string, n, cols int) string {
	var b strings.Builder
	b.Grow(len(head) + n*(3*cols+2))
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// queryEach runs query q ('?' placeholders) and calls scan for each row it returns.
func (t *tx) queryEach(ctx context.Context, op, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := t.q.QueryContext(ctx, t.db.rebind(q), args...)
	if err != nil {
		return t.db.mapErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return t.db.mapErr(op, err)
		}
	}
	return t.db.mapErr(op, rows.Err())
}

// execRows runs head VALUES (…), (…) suffix over n rows, writeRows rows a statement (at once,
// or queued in a pipeline: pipe.go); row appends row i's cols values to args.
func (t *tx) execRows(ctx context.Context, op, head, suffix string, cols, n int, row func(args []any, i int) []any) error {
	return t.execRowsThen(ctx, op, head, suffix, cols, n, row, nil)
}

// execRowsThen is execRows; done, when set, gets how many rows the statements affected in
// all, once the last of them has run.
func (t *tx) execRowsThen(ctx context.Context, op, head, suffix string, cols, n int, row func(args []any, i int) []any, done func(affected int64) error) error {
	if n == 0 {
		if done != nil {
			return done(0)
		}
		return nil
	}
	var affected int64
	for from := 0; from < n; {
		k := writeRows(n - from)
		args := make([]any, 0, k*cols)
		for i := from; i < from+k; i++ {
			args = row(args, i)
		}
		last := from+k == n
		err := t.later(ctx, op, valuesSQL(head, k, cols)+suffix, args, func(m int64) error {
			affected += m
			if last && done != nil {
				return done(affected)
			}
			return nil
		})
		if err != nil {
			return err
		}
		from += k
	}
	return nil
}

func (t *tx) writeReadings(ctx context.Context, rs []charging.Reading) error {
	err := t.execRows(ctx, "add readings", "INSERT INTO meter_readings (session_id, station_id, evse_no, at, measurand, phase, location, context, unit, value_milli)", "",
		10, len(rs), func(args []any, i int) []any {
			r := &rs[i]
			return append(args, r.SessionID, r.StationID, r.EVSENo, micros(r.At), r.Measurand, r.Phase, r.Location, r.Context, r.Unit, r.Milli)
		})
	if err == nil {
		t.wroteReadings(rs)
	}
	return err
}

// writeStatus appends status reports to the history and moves each connector's live status to
// its latest report. A late report (queued offline) never overwrites a newer live status: of
// a connector's reports the last of the latest is upserted, as applying them one by one would
// leave it.
func (t *tx) writeStatus(ctx context.Context, cs []charging.StatusChange) error {
	const head = "(station_id, evse_no, connector_no, status, error_code, info, vendor_error_code, at)"
	row := func(cs []charging.StatusChange) func(args []any, i int) []any {
		return func(args []any, i int) []any {
			c := &cs[i]
			return append(args, c.StationID, c.EVSENo, c.ConnectorNo, c.Status, c.ErrorCode, c.Info, c.VendorErrorCode, micros(c.At))
		}
	}
	if err := t.execRows(ctx, "add status", "INSERT INTO status_changes "+head, "", 8, len(cs), row(cs)); err != nil {
		return err
	}
	type key struct {
		station   string
		evse, con int
	}
	latest := map[key]int{}
	for i, c := range cs {
		k := key{c.StationID, c.EVSENo, c.ConnectorNo}
		if j, ok := latest[k]; !ok || !c.At.Before(cs[j].At) {
			latest[k] = i
		}
	}
	live := make([]charging.StatusChange, 0, len(latest))
	for _, i := range latest {
		live = append(live, cs[i])
	}
	// Key order: concurrent PostgreSQL batches take the rows' locks in one order.
	slices.SortFunc(live, func(a, b charging.StatusChange) int {
		return cmp.Or(strings.Compare(a.StationID, b.StationID), cmp.Compare(a.EVSENo, b.EVSENo), cmp.Compare(a.ConnectorNo, b.ConnectorNo))
	})
	return t.execRows(ctx, "add status", "INSERT INTO connector_status "+head, ` ON CONFLICT (station_id, evse_no, connector_no) DO UPDATE SET
		status = excluded.status, error_code = excluded.error_code, info = excluded.info, vendor_error_code = excluded.vendor_error_code,
		at = excluded.at WHERE excluded.at >= connector_status.at`, 8, len(live), row(live))
}

// Readings returns the session's stored readings and, after them, those this transaction holds
// back, in time order (stable: as if the held-back ones had been written, after the stored).
// It used to write everything held back first: every rated session end in a batch then wrote
// the batch's readings and status reports so far, and a batch of stops wrote them in as many
// pieces as it had stops (15 % of the SQLite writer's time with a tariff on the load tool's site).
func (t *tx) Readings(ctx context.Context, sessionID string) ([]charging.Reading, error) {
	out, err := t.storedReadings(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	held := false
	for _, r := range t.pendReadings {
		if r.SessionID == sessionID {
			r.At = time.UnixMicro(micros(r.At)).UTC() // as stored
			out, held = append(out, r), true
		}
	}
	if held {
		slices.SortStableFunc(out, func(a, b charging.Reading) int { return a.At.Compare(b.At) })
	}
	return out, nil
}

// readingCols are the columns a reading is read back from, in scanReading's order.
const readingCols = "station_id, evse_no, at, measurand, phase, location, context, unit, value_milli"

// readingsQuery is a session's readings; meter_readings_session serves it (and the read-ahead's
// IN list), and that is the table's only index (migration 00022).
const readingsQuery = "SELECT " + readingCols + " FROM meter_readings WHERE session_id = ? ORDER BY at"

// scanReading reads readingCols into r, after the columns in before.
func scanReading(rows rowScanner, r *charging.Reading, before ...any) error {
	var at int64
	err := rows.Scan(append(before, &r.StationID, &r.EVSENo, &at, &r.Measurand, &r.Phase, &r.Location, &r.Context, &r.Unit, &r.Milli)...)
	r.At = time.UnixMicro(at).UTC()
	return err
}

func (t *tx) storedReadings(ctx context.Context, sessionID string) ([]charging.Reading, error) {
	if rs, ok := t.aheadReadings(sessionID); ok {
		return rs, nil
	}
	var out []charging.Reading
	err := t.queryEach(ctx, "readings", readingsQuery, []any{sessionID}, func(rows *sql.Rows) error {
		r := charging.Reading{SessionID: sessionID}
		if err := scanReading(rows, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LiveStatus returns the latest status of each connector of a station ("" = all stations).
func (t *tx) LiveStatus(ctx context.Context, stationID string) ([]charging.StatusChange, error) {
	if err := t.flushOps(ctx); err != nil {
		return nil, err
	}
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

// NextTransactionNo draws ids a block at a time and hands them out one by one: one query per
// session start was 6 % of PostgreSQL's statements under load. PostgreSQL draws from a
// sequence (concurrent transactions never wait on it). SQLite moves its counter row up by a
// block (txNoBlock); that move is part of the transaction, so the block's other ids go to the
// node only when the transaction commits. Ids drawn are never given back, so a block's unused
// ids are skipped when the node stops, as a sequence skips those of rolled-back transactions:
// ids are unique, ascending per node, not gapless.
func (t *tx) NextTransactionNo(ctx context.Context) (int64, error) {
	b := &t.db.txNos
	b.Lock()
	defer b.Unlock()
	if t.db.d.TxNoSQL == "" {
		return t.nextCounted(ctx)
	}
	if len(b.free) == 0 {
		rows, err := t.q.QueryContext(ctx, t.db.d.TxNoSQL)
		if err != nil {
			return 0, t.db.mapErr("transaction number", err)
		}
		defer rows.Close()
		var block []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				return 0, t.db.mapErr("transaction number", err)
			}
			block = append(block, v)
		}
		if err := rows.Err(); err != nil || len(block) == 0 {
			return 0, t.db.mapErr("transaction number", cmp.Or(err, errors.New("the sequence gave no id")))
		}
		slices.Sort(block)
		b.free = block
	}
	v := b.free[0]
	b.free = b.free[1:]
	return v, nil
}

// txNoBlock is how many ids SQLite's counter row moves up at a time.
const txNoBlock = 64

// nextCounted is NextTransactionNo from SQLite's counter row; t.db.txNos is held. It takes the
// ids this transaction moved the counter up for, then the node's (committed) free ids, then
// moves the counter up a block; the rest of the block is the transaction's until it commits
// (DB.run hands it to the node then), so a rolled-back move, whose ids the counter gives out
// again, never reaches the node.
func (t *tx) nextCounted(ctx context.Context) (int64, error) {
	take := func(ids *[]int64) int64 { v := (*ids)[0]; *ids = (*ids)[1:]; return v }
	if len(t.txNos) > 0 {
		return take(&t.txNos), nil
	}
	if free := &t.db.txNos.free; len(*free) > 0 {
		return take(free), nil
	}
	var top int64
	err := t.q.QueryRowContext(ctx, t.db.rebind("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value RETURNING value"),
		"ocpp16_transaction", txNoBlock).Scan(&top)
	if err != nil {
		return 0, t.db.mapErr("transaction number", err)
	}
	t.txNos = t.txNos[:0]
	for v := top - txNoBlock + 2; v <= top; v++ {
		t.txNos = append(t.txNos, v)
	}
	return top - txNoBlock + 1, nil
}

// Next increments and returns a named counter (starting at 1).
func (t *tx) Next(ctx context.Context, name string) (int64, error) {
	var v int64
	err := t.q.QueryRowContext(ctx, t.db.rebind("INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"), name).Scan(&v)
	return v, t.db.mapErr("counter", err)
}
