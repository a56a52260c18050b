package app_test

import (
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
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
