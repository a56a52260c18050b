package app

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/govalues/decimal"

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
	var cdr *billing.CDR
	var priced *billing.Priced
	if s.TariffID != "" {
		rs, err := tx.Readings(ctx, s.ID)
		if err != nil {
			return err
		}
		c, p, total, err := a.rate(ctx, tx, s, *s.StoppedAt, rs)
		if err != nil {
			return errs.Wrap("rate session "+s.ID, err)
		}
		cdr, priced, cost = &c, &p, total
	}
	var err error
	if rec.CDR, err = a.ocpiCDR(rec, s, cdr, priced); err != nil {
		return err
	}
	rec.TotalMinor = cost
	if err := tx.CDRs().Create(ctx, rec); err != nil {
		return err
	}
	s.CDRID = rec.ID
	s.CostMinor = &cost
	excl := cdrExcl(rec, priced)
	s.RatedExclMinor = &excl
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

// cdrExcl is what CDRRevenue reads from the CDR that ocpiCDR writes for rec and p, without
// decoding it: total_cost.excl_vat (zero for an unrated CDR).
func cdrExcl(rec *billing.CDRRecord, p *billing.Priced) int64 {
	var d decimal.Decimal
	if p != nil {
		d = p.TotalCost.ExclVat.Decimal()
	}
	return exclMinor(d, rec)
}

// cdrDoc is the OCPI 2.2.1 CDR that EVCS stores for a session: the rated CDR, its cost
// fields and what EVCS knows of the session, written in one pass. Its fields are in name
// order, as CDRs have always been stored. An unrated session's CDR has no cost lines but
// its total cost and energy (zero).
type cdrDoc struct {
	AuthMethod           string                   `json:"auth_method"`
	CDRToken             cdrToken                 `json:"cdr_token"`
	ChargingPeriods      []billing.ChargingPeriod `json:"charging_periods"`
	CountryCode          string                   `json:"country_code"`
	Currency             string                   `json:"currency"`
	EndDateTime          billing.DateTime         `json:"end_date_time"`
	ID                   string                   `json:"id"`
	LastUpdated          string                   `json:"last_updated"`
	PartyID              string                   `json:"party_id"`
	PaymentMethod        string                   `json:"payment_method"` // EVCS extension: prepaid account or payment terminal
	SessionID            string                   `json:"session_id"`
	StartDateTime        billing.DateTime         `json:"start_date_time"`
	TotalCost            billing.Amount           `json:"total_cost"`
	TotalEnergy          billing.Number           `json:"total_energy"`
	TotalEnergyCost      *billing.Amount          `json:"total_energy_cost,omitempty"`
	TotalFixedCost       *billing.Amount          `json:"total_fixed_cost,omitempty"`
	TotalParkingCost     *billing.Amount          `json:"total_parking_cost,omitempty"`
	TotalParkingTime     *billing.Number          `json:"total_parking_time,omitempty"`
	TotalReservationCost *billing.Amount          `json:"total_reservation_cost,omitempty"`
	TotalTime            *billing.Number          `json:"total_time,omitempty"`
	TotalTimeCost        *billing.Amount          `json:"total_time_cost,omitempty"`
}

type cdrToken struct {
	ContractID  string `json:"contract_id"`
	CountryCode string `json:"country_code"`
	PartyID     string `json:"party_id"`
	Type        string `json:"type"`
	UID         string `json:"uid"`
}

// ocpiCDR writes the CDR of a session: the rated CDR and its prices, or (both nil) an
// unrated session's CDR.
func (a *App) ocpiCDR(rec *billing.CDRRecord, s *charging.Session, cdr *billing.CDR, p *billing.Priced) (json.RawMessage, error) {
	d := cdrDoc{AuthMethod: "WHITELIST",
		CDRToken:    cdrToken{UID: s.IdToken, Type: "RFID", ContractID: s.AccountID, CountryCode: DefaultCountryCode, PartyID: DefaultPartyID},
		CountryCode: DefaultCountryCode, PartyID: DefaultPartyID, ID: rec.ID, SessionID: s.ID,
		PaymentMethod: PaymentMethod(s.AccountID), LastUpdated: rec.CreatedAt.Format(time.RFC3339)}
	if cdr != nil && p != nil {
		d.StartDateTime, d.EndDateTime, d.Currency, d.ChargingPeriods = cdr.StartDateTime, cdr.EndDateTime, cdr.Currency, cdr.ChargingPeriods
		d.TotalCost, d.TotalEnergy = p.TotalCost, p.TotalEnergy
		d.TotalFixedCost, d.TotalEnergyCost, d.TotalTimeCost = &p.TotalFixedCost, &p.TotalEnergyCost, &p.TotalTimeCost
		d.TotalParkingCost, d.TotalReservationCost = &p.TotalParkingCost, &p.TotalReservationCost
		d.TotalTime, d.TotalParkingTime = &p.TotalTime, &p.TotalParkingTime
	} else {
		d.Currency, d.StartDateTime, d.EndDateTime = s.Currency, billing.DateTime{Time: s.StartedAt}, billing.DateTime{Time: *s.StoppedAt}
	}
	if d.ChargingPeriods == nil { // an unrated CDR, or a rated one without periods: [] not null
		d.ChargingPeriods = []billing.ChargingPeriod{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, errs.Wrap("cdr of session "+s.ID, err)
	}
	return b, nil
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
