package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/opendb"
	"github.com/evcs/evcs/internal/store/sqlstore"
)

func init() { extraCommands = append(extraCommands, newSeedCmd) }

// seedSize is the shape of a generated data set.
type seedSize struct {
	Stations, Purchasers, Sessions, Readings int
	Days                                     int
	End                                      time.Time
}

// newSeedCmd is `evcs seed --scale`: a large, realistic data set for load and report speed tests.
func newSeedCmd() *cobra.Command {
	var dsn string
	var scale bool
	z := seedSize{}
	var end string
	cmd := &cobra.Command{
		Use:   "seed --scale",
		Short: "Fill an empty store with a generated data set (sites, stations, purchasers, sessions, readings, top-ups)",
		Long: "Generate a data set into an empty store: --stations stations (10 per site, 2 EVSEs each), --purchasers\n" +
			"purchasers with prepaid accounts and top-ups, --sessions rated sessions with CDRs, status history and\n" +
			"report summaries over --days days up to --end, and --readings meter readings. Rows go in with\n" +
			"multi-row inserts in large transactions. Use a throwaway database.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !scale {
				return fmt.Errorf("--scale is required (it writes a large data set)")
			}
			z.End = time.Now().UTC().Truncate(24 * time.Hour)
			if end != "" {
				t, err := time.Parse(time.DateOnly, end)
				if err != nil {
					return fmt.Errorf("--end %q is not a date", end)
				}
				z.End = t
			}
			if z.Stations < 1 || z.Purchasers < 1 || z.Sessions < 0 || z.Readings < 0 || z.Days < 1 {
				return fmt.Errorf("sizes must be positive")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			s, err := opendb.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer s.Close()
			return seedScale(ctx, s, z, newProgress(cmd.ErrOrStderr(), "seed"), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&dsn, "db", config.DefaultDB, "store: sqlite:PATH or postgres://…")
	f.BoolVar(&scale, "scale", false, "generate the data set (required)")
	f.IntVar(&z.Stations, "stations", 1000, "stations")
	f.IntVar(&z.Purchasers, "purchasers", 100000, "purchasers")
	f.IntVar(&z.Sessions, "sessions", 1000000, "sessions")
	f.IntVar(&z.Readings, "readings", 20000000, "meter readings")
	f.IntVar(&z.Days, "days", 365, "days the sessions spread over")
	f.StringVar(&end, "end", "", "last day (exclusive) of the data, YYYY-MM-DD (default today, UTC)")
	return cmd
}

// seedTariff: start fee 0.35 and 0.29/kWh at 21 % VAT.
const seedTariff = `{"currency":"EUR","elements":[{"price_components":[{"type":"FLAT","price":0.35,"vat":21,"step_size":1},{"type":"ENERGY","price":0.29,"vat":21,"step_size":1}]}]}`

// seedWriter writes rows with multi-row INSERTs, committing every commitEvery rows.
type seedWriter struct {
	ctx      context.Context
	db       *sql.DB
	numbered bool
	tx       *sql.Tx
	n        int
}

func (b *seedWriter) insert(table string, cols []string, rows [][]any, tail string) error {
	per := max(1, 30000/len(cols)) // under SQLite's 32766 and PostgreSQL's 65535 parameters
	for len(rows) > 0 {
		if b.tx == nil {
			tx, err := b.db.BeginTx(b.ctx, nil)
			if err != nil {
				return err
			}
			b.tx = tx
		}
		n := min(per, len(rows))
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, n*len(cols))
		p := 0
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j := range cols {
				if j > 0 {
					q.WriteString(", ")
				}
				p++
				if b.numbered {
					q.WriteString("$" + strconv.Itoa(p))
				} else {
					q.WriteByte('?')
				}
			}
			q.WriteByte(')')
			args = append(args, r...)
		}
		q.WriteString(tail)
		if _, err := b.tx.ExecContext(b.ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert %s: %w", table, err)
		}
		rows = rows[n:]
		if b.n += n; b.n >= 200000 {
			if err := b.commit(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *seedWriter) commit() error {
	b.n = 0
	if b.tx == nil {
		return nil
	}
	err := b.tx.Commit()
	b.tx = nil
	return err
}

func doc(v any) string { j, _ := json.Marshal(v); return string(j) }

func seedScale(ctx context.Context, s *sqlstore.DB, z seedSize, bar *progress, out io.Writer) error {
	began := time.Now()
	a := app.New(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Close()
	tar, err := a.CreateTariff(ctx, []byte(seedTariff))
	if err != nil {
		return err
	}
	b := &seedWriter{ctx: ctx, db: s.SQL(), numbered: s.Dialect() == "postgres"}
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := z.End.AddDate(0, 0, -z.Days)
	meta := []string{"id", "status", "created_at", "updated_at"}
	us := func(t time.Time) int64 { return t.UnixMicro() }

	// Master data: 10 stations per site, 2 EVSEs with a connector each.
	bar.status("sites and stations")
	nSites := (z.Stations + 9) / 10
	var rows [][]any
	limit := energy.KW(400000)
	for i := range nSites {
		st := asset.Site{ID: fmt.Sprintf("site_seed%05d", i), Status: "active", CreatedAt: t0, UpdatedAt: t0,
			SiteFields: asset.SiteFields{Name: fmt.Sprintf("Site %d", i), TimeZone: "Europe/Amsterdam", GridLimitKW: &limit, DefaultTariffID: tar.ID}}
		rows = append(rows, []any{st.ID, st.Status, us(t0), us(t0), doc(st), st.Name, st.TimeZone, st.DefaultTariffID})
	}
	if err := b.insert("sites", append(meta, "data", "name", "time_zone", "default_tariff_id"), rows, ""); err != nil {
		return err
	}
	stationID := func(i int) string { return fmt.Sprintf("CP-SEED-%05d", i) }
	siteOf := func(i int) string { return fmt.Sprintf("site_seed%05d", i/10) }
	rows = rows[:0]
	var evseRows, connRows [][]any
	for i := range z.Stations {
		st := asset.Station{ID: stationID(i), Status: "active", CreatedAt: t0, UpdatedAt: t0, StationFields: asset.StationFields{SiteID: siteOf(i), Kind: asset.KindAC}}
		rows = append(rows, []any{st.ID, st.Status, us(t0), us(t0), doc(st), st.SiteID, nil, st.Kind})
		for e := 1; e <= 2; e++ {
			ev := asset.EVSE{ID: fmt.Sprintf("evse_seed%05d_%d", i, e), Status: "active", CreatedAt: t0, UpdatedAt: t0, EVSEFields: asset.EVSEFields{StationID: st.ID, EVSENo: e}}
			evseRows = append(evseRows, []any{ev.ID, ev.Status, us(t0), us(t0), doc(ev), st.ID, e})
			c := asset.Connector{ID: fmt.Sprintf("conn_seed%05d_%d", i, e), Status: "active", CreatedAt: t0, UpdatedAt: t0,
				ConnectorFields: asset.ConnectorFields{EVSEID: ev.ID, ConnectorNo: 1, Type: "IEC_62196_T2"}}
			connRows = append(connRows, []any{c.ID, c.Status, us(t0), us(t0), doc(c), ev.ID, st.ID, 1})
		}
	}
	for _, x := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"stations", append(meta, "data", "site_id", "node_id", "kind"), rows},
		{"evses", append(meta, "data", "station_id", "evse_no"), evseRows},
		{"connectors", append(meta, "data", "evse_id", "station_id", "connector_no"), connRows},
	} {
		if err := b.insert(x.table, x.cols, x.rows, ""); err != nil {
			return err
		}
	}

	// Purchasers with accounts and one to three top-ups each.
	bar.status("purchasers and top-ups")
	cash := app.SystemAccountID(app.SysCash, "EUR")
	if err := b.insert("accounts", append(meta, "data", "user_id", "currency", "credit_limit"),
		[][]any{{cash, "active", us(t0), us(t0), doc(account.Account{ID: cash, Status: "active", Currency: "EUR", CreatedAt: t0, UpdatedAt: t0}), nil, "EUR", 0}},
		" ON CONFLICT (id) DO NOTHING"); err != nil {
		return err
	}
	accountID := func(i int) string { return fmt.Sprintf("acc_seed%07d", i) }
	roll := sqlstore.NewRollup() // the report rollups of every top-up and session, inserted at the end
	const chunk = 20000
	for lo := 0; lo < z.Purchasers; lo += chunk {
		var users, accts, ltx, lent [][]any
		for i := lo; i < min(lo+chunk, z.Purchasers); i++ {
			u := account.User{ID: fmt.Sprintf("usr_seed%07d", i), Status: "active", CreatedAt: t0, UpdatedAt: t0,
				UserFields: account.UserFields{Name: fmt.Sprintf("Purchaser %d", i), Email: fmt.Sprintf("p%d@seed.example", i), Role: account.RolePurchaser},
				AccountID:  accountID(i)}
			users = append(users, []any{u.ID, u.Status, us(t0), us(t0), doc(u), u.Email, u.Role, "", u.Name})
			ac := account.Account{ID: accountID(i), UserID: u.ID, Status: "active", Currency: "EUR", CreatedAt: t0, UpdatedAt: t0}
			accts = append(accts, []any{ac.ID, ac.Status, us(t0), us(t0), doc(ac), u.ID, "EUR", 0})
			for k := range 1 + rng.IntN(3) {
				at := t0.Add(time.Duration(rng.Int64N(int64(z.End.Sub(t0)))))
				amt := int64(1000 * (2 + rng.IntN(10)))
				id := fmt.Sprintf("ltx_seed%07d_%d", i, k)
				lt := account.LedgerTx{ID: id, IdemKey: "seed:" + id, Kind: app.LedgerTopUp, Ref: "tup_" + id, At: at}
				ltx = append(ltx, []any{id, lt.IdemKey, lt.Kind, us(at), lt.Ref, doc(lt)})
				lent = append(lent, []any{id + "_c", id, cash, -amt, "EUR", us(at)}, []any{id + "_a", id, ac.ID, amt, "EUR", us(at)})
				roll.AddTopUp(store.TopUpFact{LedgerTxID: id, AccountID: ac.ID, Currency: "EUR", At: at, AmountMinor: amt})
			}
		}
		if err := b.insert("users", append(meta, "data", "email", "role", "group_id", "name"), users, ""); err != nil {
			return err
		}
		if err := b.insert("accounts", append(meta, "data", "user_id", "currency", "credit_limit"), accts, ""); err != nil {
			return err
		}
		if err := b.insert("ledger_transactions", []string{"id", "idem_key", "kind", "created_at", "ref", "data"}, ltx, ""); err != nil {
			return err
		}
		if err := b.insert("ledger_entries", []string{"id", "tx_id", "account_id", "amount", "currency", "created_at"}, lent, ""); err != nil {
			return err
		}
		bar.rows(min(lo+chunk, z.Purchasers), z.Purchasers)
	}

	// Sessions in time order, each with its CDR, status changes, readings and report summary.
	perSession := 0
	if z.Sessions > 0 {
		perSession = z.Readings / z.Sessions
	}
	extra := z.Readings - perSession*z.Sessions
	step := z.End.Sub(t0) / time.Duration(max(z.Sessions, 1))
	busy := make([]time.Time, z.Stations*2) // when each EVSE is free again
	txNo := make([]int, z.Stations)
	var ses, cdrRows, stat, reads, facts [][]any
	flush := func() error {
		for _, x := range []struct {
			table string
			cols  []string
			rows  *[][]any
		}{
			{"sessions", append(meta, "data", "station_id", "evse_no", "tx_ref", "account_id", "id_token", "kind", "energy_wh", "exported_wh", "start_key",
				"vehicle_id", "tariff_id", "currency", "cost_milli", "stopped_at"), &ses},
			{"cdrs", append(meta, "data", "session_id", "account_id", "station_id", "tariff_id", "currency", "total_milli"), &cdrRows},
			{"status_changes", []string{"station_id", "evse_no", "connector_no", "status", "at"}, &stat},
			{"meter_readings", []string{"session_id", "station_id", "evse_no", "at", "measurand", "context", "unit", "value_milli"}, &reads},
			{"report_sessions", strings.Split(sqlstore.SessionFactColumns, ", "), &facts},
		} {
			if err := b.insert(x.table, x.cols, *x.rows, ""); err != nil {
				return err
			}
			*x.rows = (*x.rows)[:0]
		}
		return nil
	}
	for i := range z.Sessions {
		start := t0.Add(time.Duration(i) * step).Add(time.Duration(rng.Int64N(int64(step) + 1)))
		si := rng.IntN(z.Stations)
		e := rng.IntN(2)
		if busy[si*2+e].After(start) {
			e = 1 - e
		}
		if busy[si*2+e].After(start) {
			start = busy[si*2+e].Add(time.Minute)
		}
		dur := time.Duration(15+rng.IntN(225)) * time.Minute
		stop := start.Add(dur)
		busy[si*2+e] = stop.Add(5 * time.Minute)
		powerW := int64(3700 + rng.IntN(7300))
		wh := powerW * int64(dur/time.Second) / 3600
		acc := accountID(rng.IntN(z.Purchasers))
		txNo[si]++
		excl := (35*1000 + wh*29 + 500) / 1000 // 0.35 + 0.29/kWh in cents, half-up
		incl := (excl*121 + 50) / 100
		s := charging.Session{ID: fmt.Sprintf("ses_seed%013d%07d", start.UnixMicro(), i), StationID: stationID(si), EVSENo: e + 1, ConnectorNo: 1,
			TxRef: strconv.Itoa(txNo[si]), IdToken: "SEEDTOKEN", AccountID: acc, Kind: charging.KindCharge, Status: charging.Completed,
			AuthStatus: charging.AuthAccepted, StartedAt: start, StoppedAt: &stop, EnergyWh: wh, PowerW: powerW, StopReason: "EVDisconnected",
			UpdatedAt: stop, TariffID: tar.ID, TariffVersion: tar.Version, Currency: "EUR", CostMinor: &incl, CDRID: "cdr_" + strconv.Itoa(i)}
		ms := wh
		s.MeterStop = &ms
		ses = append(ses, []any{s.ID, s.Status, us(start), us(stop), doc(s), s.StationID, s.EVSENo, s.TxRef, acc, s.IdToken, s.Kind, wh, 0, "",
			"", tar.ID, "EUR", incl * 10, us(stop)}) // amounts in thousandths of a euro
		cdr := fmt.Sprintf(`{"id":%q,"session_id":%q,"currency":"EUR","start_date_time":%q,"end_date_time":%q,"total_energy":%.3f,"total_cost":{"excl_vat":%d.%02d,"incl_vat":%d.%02d}}`,
			s.CDRID, s.ID, start.Format(time.RFC3339), stop.Format(time.RFC3339), float64(wh)/1000, excl/100, excl%100, incl/100, incl%100)
		rec := map[string]any{"id": s.CDRID, "session_id": s.ID, "account_id": acc, "station_id": s.StationID, "tariff_id": tar.ID, "tariff_version": tar.Version,
			"currency": "EUR", "total_minor": incl, "energy_wh": wh, "created_at": stop, "cdr": json.RawMessage(cdr)}
		cdrRows = append(cdrRows, []any{s.CDRID, "", us(stop), us(stop), doc(rec), s.ID, acc, s.StationID, tar.ID, "EUR", incl * 10})
		stat = append(stat, []any{s.StationID, e + 1, 1, "Charging", us(start)}, []any{s.StationID, e + 1, 1, "Available", us(stop)})
		if rng.IntN(400) == 0 { // now and then a fault of up to a few hours after the session
			f := stop.Add(10 * time.Minute)
			busy[si*2+e] = f.Add(time.Duration(1+rng.IntN(240)) * time.Minute)
			stat = append(stat, []any{s.StationID, e + 1, 1, "Faulted", us(f)}, []any{s.StationID, e + 1, 1, "Available", us(busy[si*2+e])})
		}
		n := perSession
		if i < extra {
			n++
		}
		for k := range n {
			at := start.Add(dur * time.Duration(k+1) / time.Duration(n+1))
			reads = append(reads, []any{s.ID, s.StationID, e + 1, us(at), charging.EnergyImport, "Sample.Periodic", "Wh", wh * int64(k+1) / int64(n+1) * 1000})
		}
		f := app.SessionFact(&s, siteOf(si), excl, incl)
		facts = append(facts, sqlstore.SessionFactArgs(&f))
		roll.AddSession(&f)
		if len(reads) >= 60000 || len(ses) >= 5000 {
			if err := flush(); err != nil {
				return err
			}
			bar.rows(i+1, z.Sessions)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	bar.status("report rollups")
	for _, t := range roll.Tables() {
		if err := b.insert(t.Table, t.Cols, t.Rows, ""); err != nil {
			return err
		}
	}
	if err := b.commit(); err != nil {
		return err
	}
	bar.status("analyze")
	analyze := "ANALYZE"
	if s.Dialect() == "postgres" {
		analyze = "VACUUM ANALYZE" // sets the visibility map too: index-only scans skip the heap
	}
	_, _ = s.SQL().ExecContext(ctx, analyze)
	bar.done()
	fmt.Fprintf(out, "seeded %d sites, %d stations, %d purchasers, %d sessions, %d readings (%s .. %s) in %s\n",
		nSites, z.Stations, z.Purchasers, z.Sessions, z.Readings, t0.Format(time.DateOnly), z.End.Format(time.DateOnly), time.Since(began).Round(time.Second))
	return nil
}
