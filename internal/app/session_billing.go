package app

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// tariffCache holds decoded tariff versions; a version never changes once stored.
var tariffCache sync.Map // "id@version" → billing.Tariff

func tariffVersion(ctx context.Context, tx store.Tx, id string, version int) (*billing.Tariff, error) {
	key := id + "@" + itoa(version)
	if t, ok := tariffCache.Load(key); ok {
		tt := t.(billing.Tariff)
		return &tt, nil
	}
	rec, err := tx.Tariffs().Version(ctx, id, version)
	if err != nil {
		return nil, err
	}
	t, err := billing.DecodeTariff(rec.Tariff)
	if err != nil {
		return nil, errs.Wrap("tariff "+key, err)
	}
	tariffCache.Store(key, t)
	return &t, nil
}

// startBilling fixes the tariff a session is rated by (driver token, else the purchaser's group,
// else EVSE, else station, else the site's default: the version in force now) and holds funds from a prepaid account.
// It runs in the transaction that opens the session.
func (a *App) startBilling(ctx context.Context, tx store.Tx, s *charging.Session) error {
	st, err := tx.Stations().Get(ctx, s.StationID)
	if err != nil {
		return err
	}
	candidates := []string{}
	if s.IdToken != "" {
		if tok, err := tx.IdTokens().GetBy(ctx, "uid", s.IdToken); err == nil {
			candidates = append(candidates, tok.TariffID, groupTariff(ctx, tx, tok.AccountID))
		}
	}
	if evses, _, err := tx.EVSEs().List(ctx, store.Query{Filter: map[string]string{"station_id": s.StationID, "evse_no": itoa(s.EVSENo)}, Limit: 1}); err == nil && len(evses) == 1 {
		candidates = append(candidates, evses[0].TariffID)
	}
	candidates = append(candidates, st.TariffID)
	if site, err := tx.Sites().Get(ctx, st.SiteID); err == nil {
		candidates = append(candidates, site.DefaultTariffID)
		s.TimeZone = site.TimeZone
	}
	for _, id := range candidates {
		if id == "" {
			continue
		}
		rec, err := tx.Tariffs().Latest(ctx, id)
		if err != nil || rec.Status != billing.TariffActive {
			continue
		}
		s.TariffID, s.TariffVersion, s.Currency = rec.ID, rec.Version, rec.Currency
		break
	}
	if s.AccountID == "" || s.AuthStatus != account.AuthAccepted || IsTerminalAccount(s.AccountID) {
		return nil // nothing to hold: no prepaid account, or paid at the payment terminal
	}
	acc, err := tx.Accounts().Get(ctx, s.AccountID)
	if err != nil {
		return err
	}
	if s.Currency == "" {
		s.Currency = acc.Currency
	}
	if s.Currency != acc.Currency {
		a.Log.Warn("tariff and account currencies differ; the session will not be charged to the account",
			"session", s.ID, "tariff", s.TariffID, "tariff_currency", s.Currency, "account_currency", acc.Currency)
		return nil
	}
	want, err := money.Parse(a.Settings.HoldAmount, acc.Currency)
	if err != nil || want.Minor <= 0 {
		return nil
	}
	s.HeldMinor, err = a.HoldTx(ctx, tx, acc.ID, s.ID, want.Minor)
	return err
}

// rate prices a session's usage with its tariff: the CDR and what it costs, in minor units.
func (a *App) rate(ctx context.Context, tx store.Tx, s *charging.Session, end time.Time, rs []charging.Reading) (billing.CDR, billing.Priced, int64, error) {
	t, err := tariffVersion(ctx, tx, s.TariffID, s.TariffVersion)
	if err != nil {
		return billing.CDR{}, billing.Priced{}, 0, err
	}
	loc := sessionZone(ctx, tx, s)
	u := billing.Usage{Start: s.StartedAt, End: end, Currency: s.Currency, TariffID: s.TariffID}
	for _, r := range rs {
		if r.Measurand == charging.EnergyImport && r.Phase == "" && (r.Location == "" || r.Location == "Outlet") {
			u.Points = append(u.Points, billing.UsagePoint{At: r.At, Wh: r.Milli/1000 - s.MeterStart})
		}
	}
	u.Points = append(u.Points, billing.UsagePoint{At: end, Wh: s.EnergyWh}) // the session's own total is authoritative
	if !end.After(s.StartedAt) {
		u.End = s.StartedAt.Add(time.Second)
	}
	cdr := billing.BuildCDR(u, t, loc)
	priced, err := billing.Price(cdr, *t, loc)
	if err != nil {
		return cdr, priced, 0, err
	}
	excl, incl, inclKnown, err := priced.TotalMoney()
	if err != nil {
		return cdr, priced, 0, err
	}
	if inclKnown {
		return cdr, priced, incl.Minor, nil
	}
	return cdr, priced, excl.Minor, nil
}

// endBilling rates an ended session, stores its CDR and settles the prepaid account, in the
// transaction that ends the session: the session, its CDR and the ledger postings commit
// together or not at all. A session rated before is left as it is.
func (a *App) endBilling(ctx context.Context, tx store.Tx, s *charging.Session) error {
	if s.CDRID != "" || s.StoppedAt == nil {
		return nil
	}
	rec := &billing.CDRRecord{ID: ids.New("cdr"), SessionID: s.ID, AccountID: s.AccountID, StationID: s.StationID,
		TariffID: s.TariffID, TariffVersion: s.TariffVersion, Currency: s.Currency, EnergyWh: s.EnergyWh, CreatedAt: a.now()}
	var cost int64
	if s.TariffID != "" {
		rs, err := tx.Readings(ctx, s.ID)
		if err != nil {
			return err
		}
		cdr, priced, c, err := a.rate(ctx, tx, s, *s.StoppedAt, rs)
		if err != nil {
			return errs.Wrap("rate session "+s.ID, err)
		}
		cost = c
		body, err := billing.MergeCDR(cdr, priced)
		if err != nil {
			return err
		}
		rec.CDR = a.ocpiCDR(body, rec, s)
	} else {
		rec.CDR = a.ocpiCDR([]byte(`{}`), rec, s)
	}
	rec.TotalMinor = cost
	if err := tx.CDRs().Create(ctx, rec); err != nil {
		return err
	}
	s.CDRID = rec.ID
	s.CostMinor = &cost
	// V2G: energy fed back is credited at the site's export tariff (posted on its own key).
	if _, _, err := a.exportCreditTx(ctx, tx, s); err != nil {
		return err
	}
	if s.AccountID != "" && s.HeldMinor >= 0 && s.AuthStatus == account.AuthAccepted {
		acc, err := tx.Accounts().Get(ctx, s.AccountID)
		if err != nil {
			return err
		}
		if acc.Currency == s.Currency {
			return a.SettleTx(ctx, tx, s.AccountID, s.ID, cost)
		}
	}
	return nil
}

// ocpiCDR completes a rated CDR body with the OCPI fields EVCS knows about the session.
func (a *App) ocpiCDR(body []byte, rec *billing.CDRRecord, s *charging.Session) json.RawMessage {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil || m == nil {
		m = map[string]any{}
	}
	m["country_code"], m["party_id"], m["id"] = DefaultCountryCode, DefaultPartyID, rec.ID
	m["session_id"] = s.ID
	m["auth_method"] = "WHITELIST"
	m["payment_method"] = PaymentMethod(s.AccountID) // EVCS extension: prepaid account or payment terminal
	m["cdr_token"] = map[string]any{"uid": s.IdToken, "type": "RFID", "contract_id": s.AccountID, "country_code": DefaultCountryCode, "party_id": DefaultPartyID}
	m["last_updated"] = rec.CreatedAt.Format(time.RFC3339)
	if _, ok := m["currency"]; !ok {
		m["currency"] = s.Currency
	}
	if _, ok := m["start_date_time"]; !ok {
		m["start_date_time"] = s.StartedAt.Format(time.RFC3339)
		m["end_date_time"] = s.StoppedAt.Format(time.RFC3339)
		m["total_cost"] = map[string]any{"excl_vat": 0}
		m["total_energy"] = float64(0)
		m["charging_periods"] = []any{}
	}
	out, _ := json.Marshal(m)
	return out
}

// creditExhausted reports whether a running session has used up what its account can pay:
// the hold plus what is left on the account (with its credit limit). It is checked only once
// the running cost passes the hold, so most meter values cost no balance query.
func (a *App) creditExhausted(ctx context.Context, tx store.Tx, s *charging.Session, at time.Time) (bool, error) {
	if s.StopRequested || s.AccountID == "" || s.TariffID == "" || s.Status != charging.Active || s.AuthStatus != account.AuthAccepted {
		return false, nil
	}
	_, _, cost, err := a.rate(ctx, tx, s, at, nil)
	if err != nil || cost < s.HeldMinor {
		return false, err
	}
	acc, err := tx.Accounts().Get(ctx, s.AccountID)
	if err != nil {
		return false, err
	}
	bal, err := tx.Balance(ctx, s.AccountID)
	if err != nil {
		return false, err
	}
	var min int64
	if m, err := money.Parse(a.Settings.MinBalance, acc.Currency); err == nil {
		min = m.Minor
	}
	return cost >= s.HeldMinor+bal+acc.CreditLimit-min, nil
}

// stopForCredit asks the station to stop a session whose account cannot pay for more.
func (a *App) stopForCredit(s *charging.Session) {
	if a.Commander == nil {
		return
	}
	ctx, cancel := context.WithTimeout(WithActor(context.Background(), System), time.Minute)
	defer cancel()
	a.Log.Info("balance used up: stopping session", "session", s.ID, "station", s.StationID)
	if _, err := a.SendCommand(ctx, s.StationID, CommandRequest{Kind: "remote_stop", TransactionID: s.TxRef}); err != nil {
		a.Log.Warn("could not stop session for credit", "session", s.ID, "err", err)
	}
	a.Bus.Publish(Event{Kind: "session.stop_requested", StationID: s.StationID, Data: s})
}

// groupTariff is the tariff of the group the account's purchaser belongs to, if any.
func groupTariff(ctx context.Context, tx store.Tx, accountID string) string {
	acc, err := tx.Accounts().Get(ctx, accountID)
	if err != nil || acc.UserID == "" {
		return ""
	}
	u, err := tx.Users().Get(ctx, acc.UserID)
	if err != nil || u.GroupID == "" {
		return ""
	}
	g, err := tx.Groups().Get(ctx, u.GroupID)
	if err != nil || g.Status != account.Active {
		return ""
	}
	return g.TariffID
}

// sessionZone is the time zone a session is rated in: the site's zone, fixed at start (running
// sessions are rated at every meter value, so this must not cost two lookups each time). A
// session started before the zone was kept falls back to its site's current zone.
func sessionZone(ctx context.Context, tx store.Tx, s *charging.Session) *time.Location {
	zone := s.TimeZone
	if zone == "" {
		if st, err := tx.Stations().Get(ctx, s.StationID); err == nil {
			if site, err := tx.Sites().Get(ctx, st.SiteID); err == nil {
				zone = site.TimeZone
			}
		}
	}
	if l, err := time.LoadLocation(zone); err == nil && zone != "" {
		return l
	}
	return time.UTC // as before: an unknown zone rates in UTC
}
