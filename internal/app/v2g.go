package app

// V2G: energy a vehicle feeds back is credited at the site's export tariff, and an operator or
// the load manager can ask a V2X station to discharge.
//
// Export credit. A session's exported energy (Energy.Active.Export.Register, folded into
// Session.ExportedWh) is priced with the export tariff of the station's site (Site.ExportTariffID,
// the version in force when the session ends) by the same OCPI rules as a charge: the export
// readings make the CDR's periods, so time-of-use export prices apply; the amount is rounded
// once, half-up; incl. VAT when known. The credit is posted when the session is billed, as its
// own ledger transaction "export:<session>" (kind export_credit, revenue → account), so it
// is idempotent and the charge's hold/capture/release stay as they are. The receipt shows it as
// a negative line "Energy exported" and its total is the net: charged − credited.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// LedgerExportCredit is the kind of the ledger transaction crediting exported energy.
const LedgerExportCredit = "export_credit"

// exportExtra is what an export credit's ledger transaction carries.
type exportExtra struct {
	ExportedWh    int64  `json:"exported_wh"`
	TariffID      string `json:"tariff_id"`
	TariffVersion int    `json:"tariff_version"`
	ExclMinor     int64  `json:"excl_vat_minor"`
	InclMinor     int64  `json:"incl_vat_minor"`
	InclKnown     bool   `json:"incl_vat_known"`
}

// exportCreditTx credits a session's exported energy to its account, in the transaction that
// bills the session (call it from endBilling once the CDR is stored). It returns the credit in
// minor units (0 when nothing was exported, the site has no export tariff, or the session has
// no accepted account in the tariff's currency) and the receipt line. Called again for the
// same session it returns the first credit and posts nothing.
func (a *App) exportCreditTx(ctx context.Context, tx store.Tx, s *charging.Session) (int64, []ReceiptLine, error) {
	credit, lines, err := a.exportCredit(ctx, tx, s)
	return credit, lines, errs.Wrap("export credit", err)
}

func (a *App) exportCredit(ctx context.Context, tx store.Tx, s *charging.Session) (int64, []ReceiptLine, error) {
	if s.ExportedWh <= 0 || s.AccountID == "" || s.AuthStatus != account.AuthAccepted || s.StoppedAt == nil {
		return 0, nil, nil
	}
	if lt, err := byKey(ctx, tx, "export:"+s.ID); err != nil || lt != nil {
		if lt == nil {
			return 0, nil, err
		}
		l, credit := exportLine(lt, s.AccountID)
		return credit, []ReceiptLine{l}, nil
	}
	st, err := tx.Stations().Get(ctx, s.StationID)
	if err != nil {
		return 0, nil, err
	}
	site, err := tx.Sites().Get(ctx, st.SiteID)
	if err != nil || site.ExportTariffID == "" {
		return 0, nil, err
	}
	rec, err := tx.Tariffs().Latest(ctx, site.ExportTariffID)
	if err != nil || rec.Status != billing.TariffActive {
		a.Log.Warn("site export tariff missing or inactive: export not credited", "session", s.ID, "tariff", site.ExportTariffID, "err", err)
		return 0, nil, nil
	}
	acc, err := tx.Accounts().Get(ctx, s.AccountID)
	if err != nil {
		return 0, nil, err
	}
	if acc.Currency != rec.Currency {
		a.Log.Warn("export tariff and account currencies differ: export not credited", "session", s.ID, "tariff", rec.ID, "account", acc.ID)
		return 0, nil, nil
	}
	t, err := tariffVersion(ctx, tx, rec.ID, rec.Version)
	if err != nil {
		return 0, nil, err
	}
	loc := time.UTC
	if l, err := time.LoadLocation(site.TimeZone); err == nil {
		loc = l
	}
	rs, err := tx.Readings(ctx, s.ID)
	if err != nil {
		return 0, nil, err
	}
	u := billing.Usage{Start: s.StartedAt, End: *s.StoppedAt, Currency: rec.Currency, TariffID: rec.ID}
	for _, r := range rs {
		if r.Measurand == charging.EnergyExport && r.Phase == "" && (r.Location == "" || r.Location == "Outlet") {
			u.Points = append(u.Points, billing.UsagePoint{At: r.At, Wh: r.Milli/1000 - s.ExportStart})
		}
	}
	u.Points = append(u.Points, billing.UsagePoint{At: u.End, Wh: s.ExportedWh})
	if !u.End.After(u.Start) {
		u.End = u.Start.Add(time.Second)
	}
	priced, err := billing.Price(billing.BuildCDR(u, t, loc), *t, loc)
	if err != nil {
		return 0, nil, err
	}
	excl, incl, known, err := priced.TotalMoney()
	if err != nil {
		return 0, nil, err
	}
	credit := excl.Minor
	if known {
		credit = incl.Minor
	}
	if credit <= 0 {
		return 0, nil, nil
	}
	if err := lockAccount(ctx, tx, acc.ID); err != nil {
		return 0, nil, err
	}
	revenue, err := a.SystemAccount(ctx, tx, SysRevenue, acc.Currency)
	if err != nil {
		return 0, nil, err
	}
	lt := &account.LedgerTx{IdemKey: "export:" + s.ID, Kind: LedgerExportCredit, Ref: s.ID, Memo: "energy exported (V2G)",
		Extra: mustJSON(exportExtra{ExportedWh: s.ExportedWh, TariffID: rec.ID, TariffVersion: rec.Version, ExclMinor: excl.Minor, InclMinor: incl.Minor, InclKnown: known})}
	stored, err := a.post(ctx, tx, lt, acc.Currency, leg{revenue, -credit}, leg{acc.ID, credit})
	if err != nil {
		return 0, nil, err
	}
	l, credit := exportLine(stored, acc.ID)
	return credit, []ReceiptLine{l}, nil
}

// exportLine is the receipt line of an export credit posting (negative amounts) and the credit.
func exportLine(lt *account.LedgerTx, accountID string) (ReceiptLine, int64) {
	var x exportExtra
	_ = json.Unmarshal(lt.Extra, &x)
	credit := entryOf(lt, accountID)
	cur := ""
	if len(lt.Entries) > 0 {
		cur = lt.Entries[0].Currency
	}
	l := ReceiptLine{Description: "Energy exported", Quantity: charging.FormatMilli(x.ExportedWh), Unit: "kWh",
		ExclVAT: money.New(-x.ExclMinor, cur), InclVAT: money.New(-x.InclMinor, cur), InclKnown: x.InclKnown}
	return l, credit
}

// addExportCredit nets a session's export credit on its receipt: a negative "Energy exported"
// line, and the totals less the credit (Total: what the account paid net). Call it in Receipt's
// View transaction once r.Lines, r.Total and r.TotalEx are set.
func (a *App) addExportCredit(ctx context.Context, tx store.Tx, r *Receipt) error {
	if r.Session.AccountID == "" || r.Session.ExportedWh <= 0 {
		return nil
	}
	lt, err := byKey(ctx, tx, "export:"+r.Session.ID)
	if err != nil || lt == nil {
		return err
	}
	l, credit := exportLine(lt, r.Session.AccountID)
	r.Lines = append(r.Lines, l)
	r.Total.Minor -= credit
	r.TotalEx.Minor += l.ExclVAT.Minor
	return nil
}

// DischargeInput asks a V2X station to discharge the vehicle at an EVSE.
type DischargeInput struct {
	EVSENo    int    `json:"evse_no" minimum:"1"`
	PowerW    int64  `json:"power_w" minimum:"1" doc:"discharge power, W"`
	DurationS int    `json:"duration_s,omitempty" minimum:"0" doc:"how long; default 3600"`
	VehicleID string `json:"vehicle_id,omitempty" doc:"the vehicle, when the session does not name it"`
}

// Discharge asks a V2X-capable OCPP 2.1 station to feed power back from the vehicle of the
// running session at an EVSE (operator; the load manager calls it with System): a TxProfile
// SetChargingProfile whose period has operationMode CentralSetpoint and a negative setpoint
// (OCPP 2.1: negative = discharging). It is refused (errs Conflict), and nothing is sent, when
// the station is not V2X or not on 2.1, no session runs there, or the vehicle's minimum SoC
// would be crossed: its SoC is at or below the minimum, or the energy asked for
// (power × duration) would take it below (when the vehicle's capacity is known).
func (a *App) Discharge(ctx context.Context, stationID string, in DischargeInput) (*charging.Command, error) {
	cmd, err := a.discharge(ctx, stationID, in)
	return cmd, errs.Wrap("discharge", err)
}

func (a *App) discharge(ctx context.Context, stationID string, in DischargeInput) (*charging.Command, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, err
	}
	if in.PowerW <= 0 {
		return nil, errs.Field("power_w", "must be positive")
	}
	if in.DurationS <= 0 {
		in.DurationS = 3600
	}
	if in.EVSENo <= 0 {
		in.EVSENo = 1
	}
	var s *charging.Session
	err := a.Store.View(ctx, func(tx store.Tx) error {
		st, err := mustExist(ctx, tx.Stations(), "station_id", stationID)
		if err != nil {
			return err
		}
		if !st.V2X {
			return errs.E(errs.Conflict, "station %s is not V2X-capable", stationID)
		}
		ss, _, err := tx.Sessions().List(ctx, store.Query{Filter: map[string]string{"station_id": stationID, "status": charging.Active}, Limit: 100})
		if err != nil {
			return err
		}
		for i := range ss {
			if ss[i].EVSENo == in.EVSENo {
				s = &ss[i]
			}
		}
		if s == nil {
			return errs.E(errs.Conflict, "no session runs at %s EVSE %d", stationID, in.EVSENo)
		}
		return checkMinSoC(ctx, tx, s, in)
	})
	if err != nil {
		return nil, err
	}
	if a.Commander == nil {
		return nil, errs.E(errs.Unavailable, "the OCPP server is not running")
	}
	if proto, ok := a.Commander.Connected(stationID); !ok {
		return nil, errs.E(errs.Conflict, "station %s is not connected", stationID)
	} else if proto != "ocpp2.1" {
		return nil, errs.E(errs.Conflict, "discharging needs OCPP 2.1 (station %s speaks %s)", stationID, proto)
	}
	setpoint := -float64(in.PowerW)
	// The id of the EVSE's TxProfile that the load manager sets: the discharge replaces its
	// limit (and its next limit replaces the discharge), never two profiles at one stack level.
	id := ProfileIDFor("TxProfile", in.EVSENo)
	payload := map[string]any{"evseId": in.EVSENo, "chargingProfile": map[string]any{
		"id": id, "stackLevel": 1, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative", "transactionId": s.TxRef,
		"chargingSchedule": []any{map[string]any{"id": 1, "chargingRateUnit": "W", "duration": in.DurationS,
			"chargingSchedulePeriod": []any{map[string]any{"startPeriod": 0, "operationMode": "CentralSetpoint", "setpoint": setpoint,
				"limit": float64(in.PowerW), "dischargeLimit": setpoint}}}}}}
	return a.SendCommand(ctx, stationID, CommandRequest{Kind: "raw", Action: "SetChargingProfile", Payload: mustJSON(payload)})
}

// checkMinSoC refuses a discharge that would cross the vehicle's minimum SoC.
func checkMinSoC(ctx context.Context, tx store.Tx, s *charging.Session, in DischargeInput) error {
	v, err := sessionVehicle(ctx, tx, s, in.VehicleID)
	if err != nil || v == nil || v.MinSoCPct == 0 {
		return err
	}
	if s.SoC == nil {
		return errs.E(errs.Conflict, "the vehicle's state of charge is unknown: cannot keep it above its minimum %d %%", v.MinSoCPct)
	}
	if *s.SoC <= v.MinSoCPct {
		return errs.E(errs.Conflict, "the vehicle is at %d %% state of charge, at or below its minimum %d %%: discharging refused", *s.SoC, v.MinSoCPct)
	}
	if v.BatteryWh > 0 {
		wh := in.PowerW * int64(in.DurationS) / 3600
		after := float64(*s.SoC) - float64(wh)*100/float64(v.BatteryWh)
		if after < float64(v.MinSoCPct) {
			return errs.E(errs.Conflict, "discharging %d Wh would take the vehicle from %d %% to %.1f %%, below its minimum %d %%: refused",
				wh, *s.SoC, after, v.MinSoCPct)
		}
	}
	return nil
}

// sessionVehicle is the vehicle of a session: named, the session's, or the account owner's
// only vehicle.
func sessionVehicle(ctx context.Context, tx store.Tx, s *charging.Session, id string) (*account.Vehicle, error) {
	if id == "" {
		id = s.VehicleID
	}
	if id != "" {
		return mustExist(ctx, tx.Vehicles(), "vehicle_id", id)
	}
	if s.AccountID == "" {
		return nil, nil
	}
	acc, err := tx.Accounts().Get(ctx, s.AccountID)
	if err != nil || acc.UserID == "" {
		return nil, err
	}
	vs, _, err := tx.Vehicles().List(ctx, store.Query{Filter: map[string]string{"owner_id": acc.UserID}, Limit: 2})
	if err != nil || len(vs) != 1 {
		return nil, err
	}
	return &vs[0], nil
}

// AllowEnergyTransfer tells a 2.1 station which energy transfer modes a session may use
// (NotifyAllowedEnergyTransfer, e.g. ["AC_BPT"] to allow bidirectional AC) and records the
// station's answer as a station event of that name besides the command.
func (a *App) AllowEnergyTransfer(ctx context.Context, sessionID string, modes []string) (*charging.Command, error) {
	if len(modes) == 0 {
		return nil, errs.Wrap("allow energy transfer", errs.Field("modes", "at least one is required"))
	}
	var s *charging.Session
	if err := a.Store.View(ctx, func(tx store.Tx) (err error) { s, err = tx.Sessions().Get(ctx, sessionID); return }); err != nil {
		return nil, errs.Wrap("allow energy transfer", err)
	}
	payload := mustJSON(map[string]any{"transactionId": s.TxRef, "allowedEnergyTransfer": modes})
	cmd, err := a.SendCommand(ctx, s.StationID, CommandRequest{Kind: "raw", Action: "NotifyAllowedEnergyTransfer", Payload: payload})
	if cmd != nil {
		rec, _ := json.Marshal(map[string]any{"session_id": s.ID, "request": json.RawMessage(payload), "result": cmd.Result, "status": cmd.Status})
		ev := charging.StationEvent{ID: ids.New("evt"), StationID: s.StationID, Kind: "NotifyAllowedEnergyTransfer", At: a.now(), Payload: rec}
		if serr := a.Store.InTx(ctx, func(tx store.Tx) error { return tx.Events().Create(ctx, &ev) }); serr != nil && err == nil {
			err = serr
		}
	}
	return cmd, errs.Wrap("allow energy transfer", err)
}
