package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
)

// runQuery covers the list queries: time and amount ranges, sorts in both directions paged
// across pages, filters on related tables, the refusals, and the cross-entity search. Its
// records carry a "q" in their ids and are selected by filters, so the rest of the suite's
// data does not disturb it.
func runQuery(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	site := asset.Site{ID: "site_q", SiteFields: asset.SiteFields{Name: "Quarry Depot", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: base, UpdatedAt: base}
	st1 := asset.Station{ID: "CP-QX1", StationFields: asset.StationFields{SiteID: "site_q", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: base, UpdatedAt: base}
	st2 := asset.Station{ID: "CP-QX2", StationFields: asset.StationFields{SiteID: "site_q", Kind: asset.KindDC}, Vendor: "Quuxtronic", Status: asset.Active, CreatedAt: base, UpdatedAt: base}
	evse := asset.EVSE{ID: "evse_q1_2", EVSEFields: asset.EVSEFields{StationID: "CP-QX1", EVSENo: 2}, Status: asset.Active, CreatedAt: base, UpdatedAt: base}
	purchaser := account.User{ID: "usr_q1", UserFields: account.UserFields{Name: "Zebulon Quux", Email: "zq@example.org", Role: account.RolePurchaser}, Status: account.Active, CreatedAt: base, UpdatedAt: base}
	staff := account.User{ID: "usr_q2", UserFields: account.UserFields{Name: "Zebulon Staff", Email: "zs@example.org", Role: account.RoleOperator}, Status: account.Active, CreatedAt: base, UpdatedAt: base}
	acc1 := account.Account{ID: "acc_q1", UserID: "usr_q1", Currency: "EUR", Status: account.Active, CreatedAt: base, UpdatedAt: base}
	acc2 := account.Account{ID: "acc_q2", Currency: "EUR", Status: account.Active, CreatedAt: base, UpdatedAt: base}
	cash := account.Account{ID: "sys_q_cash", Currency: "EUR", Status: account.Active, CreatedAt: base, UpdatedAt: base}
	tok := account.IdToken{ID: "tok_q1", IdTokenFields: account.IdTokenFields{UID: "QTOK-777", AccountID: "acc_q1"}, CreatedAt: base, UpdatedAt: base}
	veh := account.Vehicle{ID: "veh_q1", VehicleFields: account.VehicleFields{OwnerID: "usr_q1", Plate: "QQ-12-XY"}, Status: account.Active, CreatedAt: base, UpdatedAt: base}

	// 23 sessions: starts in pairs (equal times test the id tie-break), every fourth running
	// (no stop, no cost), costs with repeats, a few in JPY.
	var sessions []charging.Session
	for i := range 23 {
		ses := charging.Session{ID: fmt.Sprintf("ses_q%02d", i), StationID: []string{"CP-QX2", "CP-QX1"}[i%2], EVSENo: 1 + min(1, i%3),
			TxRef: fmt.Sprintf("q-%d", i), AccountID: []string{"acc_q1", "acc_q2", "acc_q2"}[i%3], Kind: charging.KindCharge,
			Status: charging.Active, StartedAt: base.Add(time.Duration(i/2) * time.Minute), UpdatedAt: base}
		if i%5 == 0 {
			ses.VehicleID = "veh_q1"
		}
		if i%4 != 0 {
			stop := ses.StartedAt.Add(time.Duration(i%5+1) * 10 * time.Minute)
			cost := int64((i * 37) % 150)
			ses.Status, ses.StoppedAt, ses.CostMinor, ses.TariffID, ses.Currency = charging.Completed, &stop, &cost, "tar_q", "EUR"
			if i%7 == 3 {
				ses.Currency = "JPY"
			}
		}
		sessions = append(sessions, ses)
	}
	mustTx(t, s, func(tx store.Tx) error {
		err := errors.Join(tx.Sites().Create(ctx, &site), tx.Stations().Create(ctx, &st1), tx.Stations().Create(ctx, &st2), tx.EVSEs().Create(ctx, &evse),
			tx.Users().Create(ctx, &purchaser), tx.Users().Create(ctx, &staff), tx.Accounts().Create(ctx, &acc1), tx.Accounts().Create(ctx, &acc2),
			tx.Accounts().Create(ctx, &cash), tx.IdTokens().Create(ctx, &tok), tx.Vehicles().Create(ctx, &veh))
		if err != nil {
			return err
		}
		for i := range sessions {
			// Created running, then ended: the columns follow the document's updates.
			run := sessions[i]
			run.Status, run.StoppedAt, run.CostMinor, run.Currency = charging.Active, nil, nil, ""
			if err := tx.Sessions().Create(ctx, &run); err != nil {
				return err
			}
			if err := tx.Sessions().Update(ctx, &sessions[i]); err != nil {
				return err
			}
		}
		return nil
	})
	onSite := func(q store.Query) store.Query {
		f := map[string]string{"site_id": "site_q"}
		for k, v := range q.Filter {
			f[k] = v
		}
		q.Filter = f
		return q
	}
	// all pages a session list with pages of 4, failing on a repeated id.
	all := func(t *testing.T, q store.Query) []string {
		t.Helper()
		q.Limit = 4
		var ids []string
		for _, p := range allPages(t, s, q, 20, func(tx store.Tx, q store.Query) ([]charging.Session, string, error) {
			return tx.Sessions().List(ctx, q)
		}) {
			if slices.Contains(ids, p.ID) {
				t.Fatalf("%+v: %s twice", q, p.ID)
			}
			ids = append(ids, p.ID)
		}
		return ids
	}
	// want lists the ids of the sessions keep accepts, ordered by key then id (desc: reversed).
	want := func(keep func(charging.Session) bool, key func(charging.Session) int64, desc bool) []string {
		var sel []charging.Session
		for _, x := range sessions {
			if keep == nil || keep(x) {
				sel = append(sel, x)
			}
		}
		slices.SortFunc(sel, func(a, b charging.Session) int {
			c := 0
			if key != nil {
				c = cmp.Compare(key(a), key(b))
			}
			if c == 0 {
				c = cmp.Compare(a.ID, b.ID)
			}
			if desc {
				c = -c
			}
			return c
		})
		ids := []string{}
		for _, x := range sel {
			ids = append(ids, x.ID)
		}
		return ids
	}
	started := func(x charging.Session) int64 { return x.StartedAt.UnixMicro() }
	stopped := func(x charging.Session) int64 {
		if x.StoppedAt == nil {
			return 0
		}
		return x.StoppedAt.UnixMicro()
	}
	// cost orders by the amount, in major units whatever the currency (no exchange rates).
	cost := func(x charging.Session) int64 {
		if x.CostMinor == nil {
			return -1
		}
		return *x.CostMinor * map[string]int64{"EUR": 10, "JPY": 1000}[x.Currency]
	}
	same := func(t *testing.T, name string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
	}

	t.Run("sorts page in both directions without duplicates or gaps", func(t *testing.T) {
		for _, c := range []struct {
			sort string
			key  func(charging.Session) int64
		}{{"", nil}, {"id", nil}, {"started_at", started}, {"stopped_at", stopped}, {"cost", cost}} {
			for _, desc := range []bool{false, true} {
				sort := c.sort
				if desc {
					if sort == "" {
						continue
					}
					sort = "-" + sort
				}
				same(t, "sort="+sort, all(t, onSite(store.Query{Sort: sort})), want(nil, c.key, desc))
			}
		}
	})
	t.Run("time ranges", func(t *testing.T) {
		from, to := base.Add(3*time.Minute), base.Add(7*time.Minute)
		in := func(x charging.Session) bool { return !x.StartedAt.Before(from) && x.StartedAt.Before(to) }
		// A range without a sort is ordered by its time field.
		same(t, "started in [from, to)", all(t, onSite(store.Query{From: from, To: to})), want(in, started, false))
		same(t, "from only", all(t, onSite(store.Query{From: from})), want(func(x charging.Session) bool { return !x.StartedAt.Before(from) }, started, false))
		same(t, "to only, by cost descending", all(t, onSite(store.Query{To: to, Sort: "-cost"})), want(func(x charging.Session) bool { return x.StartedAt.Before(to) }, cost, true))
		stopFrom := base.Add(30 * time.Minute)
		same(t, "stopped since", all(t, onSite(store.Query{From: stopFrom, TimeField: "stopped_at", Sort: "-id"})),
			want(func(x charging.Session) bool { return x.StoppedAt != nil && !x.StoppedAt.Before(stopFrom) }, nil, true))
	})
	t.Run("amount ranges are exact decimals in each row's currency", func(t *testing.T) {
		// [0.5, 1.2]: 50..120 cents, but 1 yen (0.5 rounds up, 1.2 down); unrated never match.
		inRange := func(x charging.Session) bool {
			switch {
			case x.CostMinor == nil:
				return false
			case x.Currency == "JPY":
				return *x.CostMinor == 1
			}
			return *x.CostMinor >= 50 && *x.CostMinor <= 120
		}
		same(t, "0.5..1.2", all(t, onSite(store.Query{MinAmount: "0.5", MaxAmount: "1.2", Sort: "cost"})), want(inRange, cost, false))
		same(t, "0.5..1.2 EUR", all(t, onSite(store.Query{MinAmount: "0.5", MaxAmount: "1.2", Filter: map[string]string{"currency": "EUR"}})),
			want(func(x charging.Session) bool { return inRange(x) && x.Currency == "EUR" }, cost, false)) // a range orders by its field
		same(t, "at most 0.3", all(t, onSite(store.Query{MaxAmount: "0.30"})),
			want(func(x charging.Session) bool {
				return x.CostMinor != nil && *x.CostMinor <= map[string]int64{"EUR": 30, "JPY": 0}[x.Currency]
			}, cost, false))
		same(t, "at least 100 yen", all(t, onSite(store.Query{MinAmount: "100", Filter: map[string]string{"currency": "JPY"}})),
			want(func(x charging.Session) bool { return x.Currency == "JPY" && *x.CostMinor >= 100 }, cost, false))
	})
	t.Run("filters on related records", func(t *testing.T) {
		for _, c := range []struct {
			filter map[string]string
			keep   func(charging.Session) bool
		}{
			{map[string]string{"evse_id": "evse_q1_2"}, func(x charging.Session) bool { return x.StationID == "CP-QX1" && x.EVSENo == 2 }},
			{map[string]string{"user_id": "usr_q1"}, func(x charging.Session) bool { return x.AccountID == "acc_q1" }},
			{map[string]string{"vehicle_id": "veh_q1"}, func(x charging.Session) bool { return x.VehicleID == "veh_q1" }},
			{map[string]string{"tariff_id": "tar_q", "station_id": "CP-QX2"}, func(x charging.Session) bool { return x.TariffID == "tar_q" && x.StationID == "CP-QX2" }},
			{map[string]string{"status": charging.Active}, func(x charging.Session) bool { return x.Status == charging.Active }},
		} {
			same(t, fmt.Sprint(c.filter), all(t, onSite(store.Query{Filter: c.filter})), want(c.keep, nil, false))
		}
	})
	t.Run("refusals name the parameter", func(t *testing.T) {
		var cursorOf = func(q store.Query) string {
			var next string
			mustView(t, s, func(tx store.Tx) (err error) { _, next, err = tx.Sessions().List(ctx, onSite(q)); return })
			if next == "" {
				t.Fatalf("%+v: no next page", q)
			}
			return next
		}
		byCost, byID := cursorOf(store.Query{Sort: "cost", Limit: 2}), cursorOf(store.Query{Limit: 2})
		for _, c := range []struct {
			name  string
			list  func(tx store.Tx) error
			field string
			bad   bool // marked ErrBadQuery (a 400), not a plain Invalid (422)
		}{
			{"unknown sort", sessionsQ(ctx, store.Query{Sort: "energy_wh"}), "sort", true},
			{"unknown descending sort", sessionsQ(ctx, store.Query{Sort: "-colour"}), "sort", true},
			{"cursor of another sort", sessionsQ(ctx, store.Query{Sort: "-cost", Cursor: byCost}), "cursor", true},
			{"sorted cursor in the default order", sessionsQ(ctx, store.Query{Cursor: byCost}), "cursor", true},
			{"default cursor with a sort", sessionsQ(ctx, store.Query{Sort: "started_at", Cursor: byID}), "cursor", true},
			{"default cursor with a range", sessionsQ(ctx, store.Query{From: base, Cursor: byID}), "cursor", true},
			{"to before from", sessionsQ(ctx, store.Query{From: base, To: base.Add(-time.Second)}), "to", true},
			{"unknown time field", sessionsQ(ctx, store.Query{From: base, TimeField: "paid_at"}), "time_field", true},
			{"malformed amount", sessionsQ(ctx, store.Query{MinAmount: "12,50"}), "min_amount", true},
			{"max below min", sessionsQ(ctx, store.Query{MinAmount: "2", MaxAmount: "1"}), "max_amount", true},
			{"amount of a list without one", func(tx store.Tx) error {
				_, _, err := tx.Sites().List(ctx, store.Query{MaxAmount: "1"})
				return err
			}, "max_amount", true},
			{"malformed cursor", sessionsQ(ctx, store.Query{Cursor: "not*a*cursor"}), "cursor", false},
			{"unknown filter", sessionsQ(ctx, store.Query{Filter: map[string]string{"colour": "red"}}), "colour", false},
			{"top-up amount without an account", func(tx store.Tx) error {
				_, _, err := tx.Ledger().Transactions(ctx, store.Query{MinAmount: "1", Filter: map[string]string{"kind": "topup"}})
				return err
			}, "min_amount", true},
		} {
			err := s.View(ctx, c.list)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != c.field || errors.Is(err, store.ErrBadQuery) != c.bad {
				t.Errorf("%s: got %v (field %q, bad query %v), want Invalid on %s (bad query %v)", c.name, err, errs.FieldOf(err), errors.Is(err, store.ErrBadQuery), c.field, c.bad)
			}
		}
	})
	t.Run("ledger entries and top-ups", func(t *testing.T) {
		amounts := []int64{500, 1500, 1000, 1500, 700}
		mustTx(t, s, func(tx store.Tx) error {
			for i, a := range amounts {
				kind := "topup"
				if i == 4 {
					kind = "adjustment"
				}
				lt := &account.LedgerTx{IdemKey: fmt.Sprintf("q-%d", i), Kind: kind, At: base.Add(time.Duration(i) * time.Hour), Entries: []account.LedgerEntry{
					{AccountID: "acc_q1", Amount: a, Currency: "EUR"}, {AccountID: "sys_q_cash", Amount: -a, Currency: "EUR"}}}
				if _, _, err := tx.Ledger().Post(ctx, lt); err != nil {
					return err
				}
			}
			return nil
		})
		entries := func(q store.Query) (got []int64) {
			q.Limit = 2
			for _, e := range allPages(t, s, q, 10, func(tx store.Tx, q store.Query) ([]account.LedgerEntry, string, error) {
				return tx.Ledger().Entries(ctx, "acc_q1", q)
			}) {
				got = append(got, e.Amount)
			}
			return got
		}
		if got := entries(store.Query{Sort: "amount"}); !slices.Equal(got, []int64{500, 700, 1000, 1500, 1500}) {
			t.Errorf("entries by amount: %v", got)
		}
		if got := entries(store.Query{Sort: "-amount", MinAmount: "7", MaxAmount: "15.00"}); !slices.Equal(got, []int64{1500, 1500, 1000, 700}) {
			t.Errorf("entries 7..15 by amount descending: %v", got)
		}
		if got := entries(store.Query{From: base.Add(time.Hour), To: base.Add(4 * time.Hour)}); !slices.Equal(got, []int64{1500, 1000, 1500}) {
			t.Errorf("entries in [1 h, 4 h), newest first: %v", got)
		}
		var txs []account.LedgerTx
		mustView(t, s, func(tx store.Tx) (err error) {
			txs, _, err = tx.Ledger().Transactions(ctx, store.Query{MinAmount: "10", Sort: "created_at", Filter: map[string]string{"kind": "topup", "account_id": "acc_q1"}})
			return
		})
		if len(txs) != 3 || txs[0].IdemKey != "q-1" || txs[2].IdemKey != "q-3" {
			t.Errorf("top-ups of at least 10.00: %+v", txs)
		}
	})
	t.Run("CDRs and alarms", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			for i, total := range []int64{300, 100, 200, 100} {
				rec := billing.CDRRecord{ID: fmt.Sprintf("cdr_q%d", i), SessionID: fmt.Sprintf("ses_q%02d", i), StationID: "CP-QX1", Currency: "EUR",
					TotalMinor: total, CreatedAt: base.Add(time.Duration(i) * time.Hour), CDR: []byte(`{}`)}
				if err := tx.CDRs().Create(ctx, &rec); err != nil {
					return err
				}
				al := monitor.Alarm{ID: fmt.Sprintf("alm_q%d", i), Source: fmt.Sprintf("station/CP-Q%d", i), Kind: "offline", Severity: monitor.Warning,
					StationID: "CP-QX1", Status: monitor.Raised, RaisedAt: base.Add(time.Duration(i) * time.Hour), UpdatedAt: base}
				if err := tx.Monitor().CreateAlarm(ctx, &al); err != nil {
					return err
				}
			}
			return nil
		})
		var recs []billing.CDRRecord
		mustView(t, s, func(tx store.Tx) (err error) {
			recs, _, err = tx.CDRs().List(ctx, store.Query{Sort: "-total", MaxAmount: "2.5", Filter: map[string]string{"station_id": "CP-QX1"}})
			return
		})
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		same(t, "CDRs up to 2.50 by total descending", ids, []string{"cdr_q2", "cdr_q3", "cdr_q1"})
		var als []monitor.Alarm
		mustView(t, s, func(tx store.Tx) (err error) {
			als, _, err = tx.Monitor().Alarms(ctx, store.Query{From: base.Add(time.Hour), To: base.Add(3 * time.Hour), Filter: map[string]string{"station_id": "CP-QX1"}})
			return
		})
		ids = nil
		for _, a := range als {
			ids = append(ids, a.ID)
		}
		same(t, "alarms raised in [1 h, 3 h)", ids, []string{"alm_q1", "alm_q2"})
	})
	t.Run("search across purchasers, tokens, vehicles and stations", func(t *testing.T) {
		search := func(text string, perType int, types ...string) *store.SearchResult {
			var r *store.SearchResult
			mustView(t, s, func(tx store.Tx) (err error) {
				r, err = tx.Search(ctx, store.SearchQuery{Text: text, PerType: perType, Types: types})
				return
			})
			return r
		}
		hits := func(r *store.SearchResult) (out []string) {
			for _, u := range r.Purchasers {
				out = append(out, "user:"+u.ID)
			}
			for _, x := range r.IdTokens {
				out = append(out, "token:"+x.ID)
			}
			for _, x := range r.Vehicles {
				out = append(out, "vehicle:"+x.ID)
			}
			for _, x := range r.Stations {
				out = append(out, "station:"+x.ID+"@"+x.SiteName)
			}
			return out
		}
		for _, c := range []struct {
			text    string
			perType int
			types   []string
			want    []string
		}{
			{"EBULON", 0, nil, []string{"user:usr_q1"}}, // the operator of the same name is no purchaser
			{"zq@example", 0, nil, []string{"user:usr_q1"}},
			{"tok-7", 0, nil, []string{"token:tok_q1"}},
			{"q-12-x", 0, nil, []string{"vehicle:veh_q1"}},
			{"quarry", 0, nil, []string{"station:CP-QX1@Quarry Depot", "station:CP-QX2@Quarry Depot"}},
			{"uuxtron", 0, nil, []string{"station:CP-QX2@Quarry Depot"}},
			{"cp-qx", 1, nil, []string{"station:CP-QX1@Quarry Depot"}},
			{"q", 0, []string{store.SearchIdTokens}, []string{"token:tok_q1"}},
			{"q_1", 0, nil, nil}, // LIKE's wildcards are literal: no "qx1"
			{"%", 0, nil, nil},
		} {
			if got := hits(search(c.text, c.perType, c.types...)); !slices.Equal(got, c.want) {
				t.Errorf("search %q: %v, want %v", c.text, got, c.want)
			}
		}
		for _, q := range []store.SearchQuery{{Text: " "}, {Text: "x", Types: []string{"planets"}}} {
			err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Search(ctx, q); return err })
			if !errors.Is(err, store.ErrBadQuery) {
				t.Errorf("search %+v: %v, want a bad query", q, err)
			}
		}
	})
}

func sessionsQ(ctx context.Context, q store.Query) func(tx store.Tx) error {
	return func(tx store.Tx) error { _, _, err := tx.Sessions().List(ctx, q); return err }
}
