package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/benchtest"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/opendb"
	"github.com/evcs/evcs/internal/store/sqlstore"
)

// The query API's speed over a seeded store (`evcs seed --scale`), on the engine EVCS_BENCH_DB
// names: BenchmarkQueryAPI through a running server, BenchmarkQuery through the store. Both
// skip without it:
//
//	evcs seed --scale --db sqlite:/tmp/evcs-scale.db --readings 1000000 --end 2026-11-01
//	EVCS_BENCH_DB=sqlite:/tmp/evcs-scale.db EVCS_BENCH_TO=2026-11-01 go test ./cmd/evcs -run '^$' -bench BenchmarkQueryAPI -benchtime 20x
//	EVCS_BENCH_DB=sqlite:/tmp/evcs-scale.db EVCS_BENCH_TO=2026-11-01 go test ./cmd/evcs -run '^$' -bench 'BenchmarkQuery$'
//
// The seed makes no id tokens or vehicles; the first run adds one of each per purchaser, so the
// search reads as many tokens and vehicles as purchasers. (Its top-ups lack the details
// GET …/topups shows, so top-ups are measured through the store only.)

// queryProbes are the list and search requests measured: first pages, a deep page, every kind
// of range and sort on the big lists, and searches that stop early and that read everything.
func queryProbes(t testing.TB, db *sqlstore.DB, end time.Time) [][2]string {
	day := "from=" + url.QueryEscape(end.AddDate(0, 0, -1).Format(time.RFC3339)) + "&to=" + url.QueryEscape(end.Format(time.RFC3339))
	month := "from=" + url.QueryEscape(end.AddDate(0, -1, 0).Format(time.RFC3339))
	var acc, deep, deepSorted string
	_ = db.SQL().QueryRow("SELECT account_id FROM sessions ORDER BY id LIMIT 1 OFFSET 1000").Scan(&acc)
	_ = db.SQL().QueryRow("SELECT id FROM sessions ORDER BY id LIMIT 1 OFFSET (SELECT COUNT(*) * 9 / 10 FROM sessions)").Scan(&deep)
	var cost int64
	_ = db.SQL().QueryRow("SELECT cost_milli, id FROM sessions ORDER BY cost_milli DESC, id DESC LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM sessions)").Scan(&cost, &deepSorted)
	if acc == "" || deep == "" {
		t.Fatal("the store has no sessions: seed it first")
	}
	cur := func(s string) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(s))) }
	return [][2]string{
		{"sessions first page", "/api/v1/sessions?limit=50"},
		{"sessions deep page (id cursor)", "/api/v1/sessions?limit=50&cursor=" + cur(deep)},
		{"sessions newest first", "/api/v1/sessions?limit=50&sort=-started_at"},
		{"sessions last day", "/api/v1/sessions?limit=50&" + day},
		{"sessions last month, newest first", "/api/v1/sessions?limit=50&sort=-started_at&" + month},
		{"sessions stopped last day", "/api/v1/sessions?limit=50&time_field=stopped_at&" + day},
		{"sessions by cost, descending", "/api/v1/sessions?limit=50&sort=-cost"},
		{"sessions by cost, deep page", "/api/v1/sessions?limit=50&sort=-cost&cursor=" + cur(fmt.Sprintf("-cost\x00%d\x00%s", cost, deepSorted))},
		{"sessions 5.00..6.00 EUR", "/api/v1/sessions?limit=50&min_amount=5&max_amount=6.00&currency=EUR"},
		{"sessions 5.00..6.00 any currency", "/api/v1/sessions?limit=50&min_amount=5&max_amount=6.00"},
		{"sessions of an account, newest", "/api/v1/sessions?limit=50&account_id=" + acc + "&sort=-started_at"},
		{"sessions of a station", "/api/v1/sessions?limit=50&station_id=CP-SEED-00042"},
		{"sessions of a site, last month", "/api/v1/sessions?limit=50&site_id=site_seed00042&" + month},
		{"sessions of a tariff, last day", "/api/v1/sessions?limit=50&tariff_id=" + tariffOf(db) + "&" + day},
		{"sessions of a vehicle", "/api/v1/sessions?limit=50&vehicle_id=veh_seed0000042"},
		{"sessions running (status)", "/api/v1/sessions?limit=50&status=active"},
		{"sessions discharging (kind)", "/api/v1/sessions?limit=50&kind=discharge"},
		{"cdrs by total, descending", "/api/v1/cdrs?limit=50&sort=-total"},
		{"cdrs last day", "/api/v1/cdrs?limit=50&" + day},
		{"users by name", "/api/v1/users?limit=50&sort=name"},
		{"users newest first", "/api/v1/users?limit=50&sort=-created_at"},
		{"users search (q) rare", "/api/v1/users?limit=50&q=purchaser%2099999"},
		{"id-tokens by uid", "/api/v1/id-tokens?limit=50&sort=uid"},
		{"vehicles by plate", "/api/v1/vehicles?limit=50&sort=plate"},
		{"ledger of an account, 10.00 up", "/api/v1/accounts/" + acc + "/ledger?min_amount=10&sort=created_at"},
		{"ledger of an account by amount", "/api/v1/accounts/" + acc + "/ledger?sort=-amount"},
		{"search common text", "/api/v1/search?q=purchaser%201"},
		{"search one purchaser", "/api/v1/search?q=p99999%40seed"},
		{"search one token", "/api/v1/search?q=SEED-UID-0099999"},
		{"search no match", "/api/v1/search?q=zzqqxx"},
	}
}

func tariffOf(db *sqlstore.DB) string {
	var id string
	_ = db.SQL().QueryRow("SELECT tariff_id FROM sessions ORDER BY id LIMIT 1").Scan(&id)
	return id
}

func benchEnd() time.Time {
	end := time.Now().UTC().Truncate(24 * time.Hour)
	if v := os.Getenv("EVCS_BENCH_TO"); v != "" {
		end, _ = time.Parse(time.DateOnly, v)
	}
	return end
}

// ensureSearchData adds an id token and a vehicle per purchaser when the store has none.
func ensureSearchData(t testing.TB, db *sqlstore.DB) {
	ctx := context.Background()
	var n, users int
	_ = db.SQL().QueryRow("SELECT COUNT(*) FROM id_tokens").Scan(&n)
	_ = db.SQL().QueryRow("SELECT COUNT(*) FROM users WHERE role = 'purchaser'").Scan(&users)
	if n > 0 || users == 0 {
		return
	}
	w := &seedWriter{ctx: ctx, db: db.SQL(), numbered: db.Dialect() == "postgres"}
	meta := []string{"id", "status", "created_at", "updated_at", "data"}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for lo := 0; lo < users; lo += 20000 {
		var toks, vehs [][]any
		for i := lo; i < min(lo+20000, users); i++ {
			tok := account.IdToken{ID: fmt.Sprintf("tok_seed%07d", i), CreatedAt: t0, UpdatedAt: t0, IdTokenFields: account.IdTokenFields{
				UID: fmt.Sprintf("SEED-UID-%07d", i), Type: "ISO14443", AccountID: fmt.Sprintf("acc_seed%07d", i), Status: "active"}}
			toks = append(toks, []any{tok.ID, "active", t0.UnixMicro(), t0.UnixMicro(), doc(tok), tok.UID, tok.AccountID, ""})
			v := account.Vehicle{ID: fmt.Sprintf("veh_seed%07d", i), Status: "active", CreatedAt: t0, UpdatedAt: t0, VehicleFields: account.VehicleFields{
				OwnerID: fmt.Sprintf("usr_seed%07d", i), Plate: fmt.Sprintf("SD-%05d-%c", i%100000, 'A'+i%26), VIN: fmt.Sprintf("WSEED%012d", i)}}
			vehs = append(vehs, []any{v.ID, v.Status, t0.UnixMicro(), t0.UnixMicro(), doc(v), v.OwnerID, v.VIN, v.Plate})
		}
		if err := w.insert("id_tokens", append(meta, "uid", "account_id", "group_id"), toks, ""); err != nil {
			t.Fatal(err)
		}
		if err := w.insert("vehicles", append(meta, "owner_id", "vin", "plate"), vehs, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	_, _ = db.SQL().ExecContext(ctx, "ANALYZE")
}

// BenchmarkQueryAPI measures the answer time of the list and search probes (queryProbes)
// through a running server: one sub-benchmark per probe, each request (sent and its body read)
// timed after one warm-up request. Each reports p50-ms, p95-ms and bytes (the answer's size);
// the target, every list page under 300 ms p95, is read off p95-ms.
func BenchmarkQueryAPI(b *testing.B) {
	dsn := os.Getenv("EVCS_BENCH_DB")
	if dsn == "" {
		b.Skip("EVCS_BENCH_DB not set")
	}
	s := startBenchMain(b, dsn)
	ensureSearchData(b, s.m.Store)
	var sessions, users int
	_ = s.m.Store.SQL().QueryRow("SELECT COUNT(*) FROM sessions").Scan(&sessions)
	_ = s.m.Store.SQL().QueryRow("SELECT COUNT(*) FROM users").Scan(&users)
	b.Logf("%s: %d sessions, %d users", s.m.Store.Dialect(), sessions, users)
	for _, p := range queryProbes(b, s.m.Store, benchEnd()) {
		b.Run(benchtest.Name(p[0]), func(b *testing.B) {
			benchtest.Latency(b, func() (int, time.Duration) { return benchGet(b, s.base, p[1]) })
		})
	}
}

// BenchmarkQuery runs a few list and search queries through the store (no HTTP).
func BenchmarkQuery(b *testing.B) {
	dsn := os.Getenv("EVCS_BENCH_DB")
	if dsn == "" {
		b.Skip("EVCS_BENCH_DB not set")
	}
	ctx := context.Background()
	db, err := opendb.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ensureSearchData(b, db)
	end := benchEnd()
	var acc string
	_ = db.SQL().QueryRow("SELECT account_id FROM sessions ORDER BY id LIMIT 1 OFFSET 1000").Scan(&acc)
	for _, c := range []struct {
		name string
		run  func(tx store.Tx) error
	}{
		{"sessions/first", func(tx store.Tx) error { _, _, err := tx.Sessions().List(ctx, store.Query{}); return err }},
		{"sessions/last-day", func(tx store.Tx) error {
			_, _, err := tx.Sessions().List(ctx, store.Query{From: end.AddDate(0, 0, -1), To: end})
			return err
		}},
		{"sessions/by-cost-desc", func(tx store.Tx) error { _, _, err := tx.Sessions().List(ctx, store.Query{Sort: "-cost"}); return err }},
		{"sessions/amount-range", func(tx store.Tx) error {
			_, _, err := tx.Sessions().List(ctx, store.Query{MinAmount: "5", MaxAmount: "6"})
			return err
		}},
		{"sessions/account-newest", func(tx store.Tx) error {
			_, _, err := tx.Sessions().List(ctx, store.Query{Filter: map[string]string{"account_id": acc}, Sort: "-started_at"})
			return err
		}},
		{"sessions/status-active", func(tx store.Tx) error {
			_, _, err := tx.Sessions().List(ctx, store.Query{Filter: map[string]string{"status": "active"}})
			return err
		}},
		{"topups/account-amount", func(tx store.Tx) error {
			_, _, err := tx.Ledger().Transactions(ctx, store.Query{MinAmount: "10", Filter: map[string]string{"kind": "topup", "account_id": acc}})
			return err
		}},
		{"users/by-name", func(tx store.Tx) error { _, _, err := tx.Users().List(ctx, store.Query{Sort: "name"}); return err }},
		{"users/q-rare", func(tx store.Tx) error {
			_, _, err := tx.Users().List(ctx, store.Query{Search: "purchaser 99999"})
			return err
		}},
		{"search/common", func(tx store.Tx) error { _, err := tx.Search(ctx, store.SearchQuery{Text: "purchaser 1"}); return err }},
		{"search/no-match", func(tx store.Tx) error { _, err := tx.Search(ctx, store.SearchQuery{Text: "zzqqxx"}); return err }},
	} {
		b.Run(db.Dialect()+"/"+c.name, func(b *testing.B) {
			for b.Loop() {
				if err := db.View(ctx, c.run); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
