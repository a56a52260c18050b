package app_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestStopAnswersTokenStatusAfterPayment: the token status a StopTransaction is answered with
// counts the session just paid for. A driver with 6.00 € starts a session: the hold takes all
// of it, so the token is out of credit while it runs. The session costs 3.00 € (5 kWh at
// 0.50 €/kWh + 20 % VAT) and the rest of the hold comes back: the stop answers accepted. The
// next session holds the remaining 3.00 € and costs as much; it is stopped with another
// driver's token, which is answered with that token's own status.
func TestStopAnswersTokenStatusAfterPayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		tar, err := f.a.CreateTariff(operator, []byte(`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.50,"vat":20,"step_size":1}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		site, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Depot", TimeZone: "UTC", DefaultTariffID: tar.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Create(bg, f.a, app.Stations, app.StationInput{ID: "CP-PAID", StationFields: asset.StationFields{SiteID: site.ID, Kind: asset.KindAC}}); err != nil {
			t.Fatal(err)
		}
		poor, rich := f.purchaser("EUR", "", 0), f.purchaser("EUR", "", 0)
		f.topUp(poor, "6.00", "poor")
		f.topUp(rich, "100.00", "rich")
		for uid, acc := range map[string]string{"POOR": poor, "RICH": rich} {
			if _, err := app.Create(bg, f.a, app.IdTokens, account.IdTokenFields{UID: uid, Type: "ISO14443", AccountID: acc}); err != nil {
				t.Fatal(err)
			}
		}
		start := t0.Add(time.Hour)
		status := func(uid string) string {
			t.Helper()
			r, err := f.a.Authorize(bg, "CP-PAID", uid)
			if err != nil {
				t.Fatal(err)
			}
			return r.Status
		}
		for i, stopper := range []string{"POOR", "RICH"} {
			meter := int64(i) * 100_000
			ses, auth, err := f.a.StartSession(bg, app.StartInput{StationID: "CP-PAID", EVSENo: 1, IdToken: "POOR", MeterStart: meter, At: start})
			if err != nil || auth.Status != account.AuthAccepted {
				t.Fatalf("start %d: %+v %v", i, auth, err)
			}
			if got := status("POOR"); got != account.AuthNoCredit {
				t.Fatalf("session %d: token status %s while its hold takes the whole balance, want %s", i, got, account.AuthNoCredit)
			}
			out, stopAuth, err := f.a.StopSession(bg, app.StopInput{StationID: "CP-PAID", TxRef: ses.TxRef, MeterStop: meter + 5_000,
				At: start.Add(time.Hour), IdToken: stopper})
			if err != nil || out.CostMinor == nil || *out.CostMinor != 300 {
				t.Fatalf("stop %d: %+v %v", i, out, err)
			}
			wantAcc := map[string]string{"POOR": poor, "RICH": rich}[stopper]
			if stopAuth == nil || stopAuth.Status != account.AuthAccepted || stopAuth.AccountID != wantAcc {
				t.Fatalf("stop %d by %s: token status %+v, want %s for account %s", i, stopper, stopAuth, account.AuthAccepted, wantAcc)
			}
		}
		if got := status("POOR"); got != account.AuthNoCredit || f.balance(poor) != 0 {
			t.Errorf("after both sessions: status %s, balance %d; want %s and 0", got, f.balance(poor), account.AuthNoCredit)
		}
	})
}

// TestSessionCDRDocument: the CDR stored when a session ends is a whole OCPI 2.2.1 CDR. A rated
// session's has the session's identity, the driver's token, the charging periods and every cost
// field, with the total equal to what the account paid, exactly; an unrated session's has the
// same identity with a zero total and no cost lines. Top-level fields are in name order. The
// ended session carries the CDR's revenue excl. VAT (259 cents here, and 0) for the reports.
func TestSessionCDRDocument(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		tar, err := f.a.CreateTariff(operator, []byte(`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.333,"vat":21,"step_size":1}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		paid, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Paid", TimeZone: "UTC", DefaultTariffID: tar.ID})
		if err != nil {
			t.Fatal(err)
		}
		free, err := app.Create(bg, f.a, app.Sites, asset.SiteFields{Name: "Free", TimeZone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		for id, site := range map[string]string{"CP-RATED": paid.ID, "CP-FREE": free.ID} {
			if _, err := app.Create(bg, f.a, app.Stations, app.StationInput{ID: id, StationFields: asset.StationFields{SiteID: site, Kind: asset.KindAC}}); err != nil {
				t.Fatal(err)
			}
		}
		acc := f.purchaser("EUR", "", 0)
		f.topUp(acc, "50.00", "cdr")
		if _, err := app.Create(bg, f.a, app.IdTokens, account.IdTokenFields{UID: `TAG"1`, Type: "ISO14443", AccountID: acc}); err != nil {
			t.Fatal(err)
		}
		start := t0.Add(time.Hour)
		common := []string{"auth_method", "cdr_token", "charging_periods", "country_code", "currency", "end_date_time", "id",
			"last_updated", "party_id", "payment_method", "session_id", "start_date_time", "total_cost", "total_energy"}
		costs := []string{"total_energy_cost", "total_fixed_cost", "total_parking_cost", "total_parking_time",
			"total_reservation_cost", "total_time", "total_time_cost"}
		for _, station := range []string{"CP-RATED", "CP-FREE"} {
			ses, auth, err := f.a.StartSession(bg, app.StartInput{StationID: station, EVSENo: 1, IdToken: `TAG"1`, MeterStart: 1000, At: start})
			if err != nil || auth.Status != account.AuthAccepted {
				t.Fatalf("%s: start: %+v %v", station, auth, err)
			}
			out, _, err := f.a.StopSession(bg, app.StopInput{StationID: station, TxRef: ses.TxRef, MeterStop: 1000 + 7_777, At: start.Add(30 * time.Minute)})
			if err != nil || out.CDRID == "" || out.CostMinor == nil {
				t.Fatalf("%s: stop: %+v %v", station, out, err)
			}
			var rec *billing.CDRRecord
			if err := s.View(bg, func(tx store.Tx) (err error) { rec, err = tx.CDRs().Get(bg, out.CDRID); return err }); err != nil {
				t.Fatal(err)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(rec.CDR, &doc); err != nil {
				t.Fatalf("%s: stored CDR is not a JSON object: %v\n%s", station, err, rec.CDR)
			}
			want := common
			if station == "CP-RATED" {
				want = append(slices.Clone(common), costs...)
				slices.Sort(want)
			}
			if got := slices.Sorted(maps.Keys(doc)); !slices.Equal(got, want) {
				t.Errorf("%s: CDR fields %v, want %v", station, got, want)
			}
			if got := topLevelKeys(t, rec.CDR); !slices.IsSorted(got) {
				t.Errorf("%s: CDR fields are not in name order: %v", station, got)
			}
			var c struct {
				ID       string            `json:"id"`
				Session  string            `json:"session_id"`
				Auth     string            `json:"auth_method"`
				Pay      string            `json:"payment_method"`
				Country  string            `json:"country_code"`
				Party    string            `json:"party_id"`
				Currency string            `json:"currency"`
				Token    map[string]string `json:"cdr_token"`
				Periods  []json.RawMessage `json:"charging_periods"`
				Start    time.Time         `json:"start_date_time"`
				End      time.Time         `json:"end_date_time"`
				Total    struct {
					Excl json.Number `json:"excl_vat"`
					Incl json.Number `json:"incl_vat"`
				} `json:"total_cost"`
				Energy json.Number `json:"total_energy"`
			}
			d := json.NewDecoder(bytes.NewReader(rec.CDR))
			d.UseNumber()
			if err := d.Decode(&c); err != nil {
				t.Fatal(err)
			}
			wantToken := map[string]string{"uid": `TAG"1`, "type": "RFID", "contract_id": acc, "country_code": app.DefaultCountryCode, "party_id": app.DefaultPartyID}
			if c.ID != rec.ID || c.Session != ses.ID || c.Auth != "WHITELIST" || c.Pay != app.PaymentMethod(acc) ||
				c.Country != app.DefaultCountryCode || c.Party != app.DefaultPartyID || c.Currency != "EUR" || !maps.Equal(c.Token, wantToken) {
				t.Errorf("%s: CDR identity %+v", station, c)
			}
			if !c.Start.Equal(start) || !c.End.Equal(start.Add(30*time.Minute)) {
				t.Errorf("%s: CDR runs %s–%s, want %s–%s", station, c.Start, c.End, start, start.Add(30*time.Minute))
			}
			// The reports take the revenue from the ended session, not from the CDR decoded again.
			if excl, incl := app.CDRRevenue(rec); out.RatedExclMinor == nil || *out.RatedExclMinor != excl || *out.CostMinor != incl {
				t.Errorf("%s: the ended session's revenue %v excl. VAT and %d incl., want the CDR's %d and %d", station, out.RatedExclMinor, *out.CostMinor, excl, incl)
			}
			if station == "CP-FREE" {
				if *out.CostMinor != 0 || c.Total.Excl.String() != "0" || c.Total.Incl != "" || c.Energy.String() != "0" || len(c.Periods) != 0 {
					t.Errorf("unrated CDR: cost %d, %s", *out.CostMinor, rec.CDR)
				}
				continue
			}
			// 7.777 kWh × 0.333 €/kWh = 2.589741 € → 2.59 €; with 21 % VAT 3.13 €.
			if *out.CostMinor != 313 || rec.TotalMinor != 313 || out.RatedExclMinor == nil || *out.RatedExclMinor != 259 {
				t.Errorf("rated session cost %d (record %d), %v excl. VAT; want 313 and 259", *out.CostMinor, rec.TotalMinor, out.RatedExclMinor)
			}
			incl, err := money.Parse(c.Total.Incl.String(), "EUR")
			if err != nil || incl.Minor != rec.TotalMinor {
				t.Errorf("CDR total_cost.incl_vat %q is not the %d cents paid (%v)", c.Total.Incl, rec.TotalMinor, err)
			}
			if c.Energy.String() != "7.777" || len(c.Periods) == 0 {
				t.Errorf("CDR total_energy %s, %d periods: %s", c.Energy, len(c.Periods), rec.CDR)
			}
		}
	})
}

// topLevelKeys lists a JSON object's keys in the order they are written.
func topLevelKeys(t *testing.T, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", b)
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
