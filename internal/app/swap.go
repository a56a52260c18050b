package app

// Battery swapping: swap orders, their billing through the prepaid ledger, and battery history.
//
// Money. A swap order holds funds like a session does, keyed by the order id: when the battery
// is dispatched EVCS holds the estimated price ("hold:<order>"; the estimate assumes the vehicle
// hands in an empty battery unless the request gives its SoC), and when the vehicle has its new
// battery the real price is captured ("capture:<order>") and the rest of the hold released
// ("release:<order>") with SettleTx. Each posting is keyed by the order, so a repeated
// BatterySwap message bills nothing twice. A request that cannot be held in full is refused
// with errs InsufficientFunds and nothing moves. The price is swap.Price: the ENERGY component
// of the station's tariff for capacity × (SoC out − SoC in), plus its FLAT component as the
// swap fee, VAT per component, rounded once.
//
// Tariff: the driver token's tariff, else the station's, else the site's default (the same
// order as a session, without an EVSE), the version in force when the order is created.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/swap"
)

// SwapVendorID and the message ids of battery swapping over DataTransfer, for stations on OCPP
// 1.6 and 2.0.1, which have no BatterySwap messages (contract):
//
//	station → EVCS  messageId "BatterySwap"         data: the OCPP 2.1 BatterySwapRequest as a JSON string
//	                                                 ({"eventType","idToken":{"idToken","type"},"requestId","batteryData":[…]})
//	                                                 answer Accepted, or Rejected with the reason in data
//	station → EVCS  messageId "BatteryStatus"       data: {"batteryData":[{"evseId","serialNumber","soC","soH"}]}:
//	                                                 SoC/SoH readings of batteries in slots
//	EVCS → station  messageId "RequestBatterySwap"  data: the OCPP 2.1 RequestBatterySwapRequest as a JSON string,
//	                                                 with customData {"vendorId":"org.evcs","batterySerial"}
const (
	SwapVendorID         = "org.evcs"
	MsgBatterySwap       = "BatterySwap"
	MsgBatteryStatus     = "BatteryStatus"
	MsgRequestBatterySwa = "RequestBatterySwap"
)

// SwapBattery is one battery of a BatterySwap event.
type SwapBattery struct {
	EVSENo int     `json:"evseId"`
	Serial string  `json:"serialNumber"`
	SoCPct float64 `json:"soC"`
	SoHPct float64 `json:"soH"`
}

// SwapEvent is an OCPP 2.1 BatterySwap (or its DataTransfer form), version-neutral.
type SwapEvent struct {
	StationID string
	Event     string // BatteryIn, BatteryOut, BatteryOutTimeout
	IdToken   string
	TokenType string
	RequestID int
	Batteries []SwapBattery
}

// SwapRequest asks for a swap of a vehicle at a station. The vehicle is named by id, plate or
// VIN, or found from the token (the token's purchaser must have exactly one swap vehicle).
type SwapRequest struct {
	StationID string   `json:"station_id"`
	IdToken   string   `json:"id_token,omitempty"`
	VehicleID string   `json:"vehicle_id,omitempty"`
	Plate     string   `json:"plate,omitempty"`
	VIN       string   `json:"vin,omitempty"`
	SoCInPct  *float64 `json:"soc_in_pct,omitempty" doc:"the vehicle's battery SoC, if known: a closer estimate to hold"`
}

// Swap event kinds on the Bus.
const (
	EventSwapDispatched = "swap.dispatched"
	EventSwapUpdated    = "swap.updated"
	EventSwapCompleted  = "swap.completed"
	EventBatterySoHLow  = "battery.soh_low"
)

// swapPolicies are per-station dispatch policies set by SetSwapPolicy ("" = every station).
var swapPolicies sync.Map // *App → *sync.Map station → swap.Policy

// SetSwapPolicy sets the dispatch policy of a station ("" for the default of all stations).
func (a *App) SetSwapPolicy(stationID string, p swap.Policy) error {
	if err := p.Check(); err != nil {
		return errs.Wrap("swap policy", err)
	}
	m, _ := swapPolicies.LoadOrStore(a, &sync.Map{})
	m.(*sync.Map).Store(stationID, p)
	return nil
}

// SwapPolicy returns the dispatch policy of a station.
func (a *App) SwapPolicy(stationID string) swap.Policy {
	if m, ok := swapPolicies.Load(a); ok {
		for _, k := range []string{stationID, ""} {
			if p, ok := m.(*sync.Map).Load(k); ok {
				return p.(swap.Policy)
			}
		}
	}
	return swap.DefaultPolicy
}

// RequestSwap dispatches a battery for a vehicle at a connected swap station (operator): it
// checks the vehicle, its account and its battery type, picks the best ready battery by the
// station's policy, holds the estimated price and reserves the battery in one transaction,
// then asks the station to swap (RequestBatterySwap in 2.1, DataTransfer before). Refusals —
// unknown vehicle or battery type, no ready battery, insufficient balance, station not
// connected — leave nothing changed. When the station refuses, the order is cancelled: the
// hold is released and the battery is ready again.
func (a *App) RequestSwap(ctx context.Context, in SwapRequest) (*swap.Order, error) {
	out, err := a.requestSwap(ctx, in)
	return out, errs.Wrap("request swap", err)
}

func (a *App) requestSwap(ctx context.Context, in SwapRequest) (*swap.Order, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, err
	}
	if in.SoCInPct != nil && (*in.SoCInPct < 0 || *in.SoCInPct > 100) {
		return nil, errs.Field("soc_in_pct", "must be 0 to 100")
	}
	if a.Commander == nil {
		return nil, errs.E(errs.Unavailable, "the OCPP server is not running")
	}
	proto, ok := a.Commander.Connected(in.StationID)
	if !ok {
		if err := a.Store.View(ctx, func(tx store.Tx) error { _, err := swapStation(ctx, tx, in.StationID); return err }); err != nil {
			return nil, err
		}
		return nil, errs.E(errs.Conflict, "station %s is not connected", in.StationID)
	}
	var o *swap.Order
	var tokType string
	err := a.swapTx(ctx, func(tx store.Tx) error {
		var err error
		o, tokType, err = a.dispatchTx(ctx, tx, in, 0, swap.OriginCSMS, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	a.Bus.Publish(Event{Kind: EventSwapDispatched, StationID: o.StationID, Data: o})
	cmd, cerr := a.SendCommand(ctx, o.StationID, swapCommand(proto, o, tokType))
	if cerr == nil && cmd != nil && cmd.Error == "" {
		return o, nil
	}
	reason := "the station did not accept the swap"
	if cerr != nil {
		reason += ": " + errs.Message(cerr)
	} else if cmd.Error != "" {
		reason += ": " + cmd.Error
	}
	if err := a.cancelSwap(ctx, o.ID, reason); err != nil {
		return nil, err
	}
	return nil, errs.E(errs.Conflict, "%s", reason)
}

// swapTx runs fn like ledgerTx: once more on Conflict (first use of a system account).
func (a *App) swapTx(ctx context.Context, fn func(store.Tx) error) error { return a.ledgerTx(ctx, fn) }

// swapCommand is RequestBatterySwap for the station's protocol. EVCS's choice of battery rides in
// customData; a station that picks its own reports it in BatteryOut, and that battery is billed.
func swapCommand(proto string, o *swap.Order, tokType string) CommandRequest {
	req := map[string]any{"idToken": map[string]any{"idToken": o.IdToken, "type": tokType}, "requestId": o.RequestID,
		"customData": map[string]any{"vendorId": SwapVendorID, "batterySerial": o.OutSerial, "orderId": o.ID}}
	if proto == "ocpp2.1" {
		return CommandRequest{Kind: "raw", Action: "RequestBatterySwap", Payload: mustJSON(req)}
	}
	data, _ := json.Marshal(req)
	return CommandRequest{Kind: "raw", Action: "DataTransfer", Payload: mustJSON(map[string]any{"vendorId": SwapVendorID, "messageId": MsgRequestBatterySwa, "data": string(data)})}
}

// swapStation loads a station and checks it swaps batteries.
func swapStation(ctx context.Context, tx store.Tx, id string) (*asset.Station, error) {
	st, err := mustExist(ctx, tx.Stations(), "station_id", id)
	if err != nil {
		return nil, err
	}
	if st.Kind != asset.KindSwap {
		return nil, errs.Field("station_id", "station %s is not a swap station (kind %s)", id, st.Kind)
	}
	return st, nil
}

// swapParty is who a swap is for.
type swapParty struct {
	vehicle *account.Vehicle
	acc     *account.Account
	token   *account.IdToken
}

// swapVehicle resolves the vehicle, its purchaser's account and a token of that account.
func swapVehicle(ctx context.Context, tx store.Tx, in SwapRequest) (*swapParty, error) {
	p := &swapParty{}
	if in.IdToken != "" {
		tok, err := tx.IdTokens().GetBy(ctx, "uid", in.IdToken)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field("id_token", "unknown token %q", in.IdToken)
		}
		if err != nil {
			return nil, err
		}
		p.token = tok
	}
	var err error
	switch {
	case in.VehicleID != "":
		p.vehicle, err = tx.Vehicles().Get(ctx, in.VehicleID)
	case in.Plate != "":
		p.vehicle, err = tx.Vehicles().GetBy(ctx, "plate", in.Plate)
	case in.VIN != "":
		p.vehicle, err = tx.Vehicles().GetBy(ctx, "vin", in.VIN)
	}
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Field("vehicle", "unknown vehicle %s", firstOf(in.VehicleID, in.Plate, in.VIN))
	}
	if err != nil {
		return nil, err
	}
	var owner string
	if p.token != nil {
		acc, err := tx.Accounts().Get(ctx, p.token.AccountID)
		if err != nil {
			return nil, err
		}
		owner, p.acc = acc.UserID, acc
	}
	if p.vehicle == nil {
		if owner == "" {
			return nil, errs.Field("vehicle", "name the vehicle (vehicle_id, plate or vin) or a token")
		}
		vs, _, err := tx.Vehicles().List(ctx, store.Query{Filter: map[string]string{"owner_id": owner, "status": account.Active}, Limit: 100})
		if err != nil {
			return nil, err
		}
		vs = slices.DeleteFunc(vs, func(v account.Vehicle) bool { return v.BatteryType == "" })
		if len(vs) != 1 {
			return nil, errs.Field("vehicle", "the token's purchaser has %d swap vehicles: name the vehicle", len(vs))
		}
		p.vehicle = &vs[0]
	}
	if p.vehicle.Status != "" && p.vehicle.Status != account.Active {
		return nil, errs.Field("vehicle", "vehicle %s is %s", p.vehicle.ID, p.vehicle.Status)
	}
	if owner != "" && p.vehicle.OwnerID != owner {
		return nil, errs.Field("vehicle", "vehicle %s does not belong to the token's purchaser", p.vehicle.ID)
	}
	if p.acc == nil {
		u, err := tx.Users().Get(ctx, p.vehicle.OwnerID)
		if err != nil {
			return nil, err
		}
		if u.AccountID == "" {
			return nil, errs.Field("vehicle", "the owner of vehicle %s has no prepaid account", p.vehicle.ID)
		}
		if p.acc, err = tx.Accounts().Get(ctx, u.AccountID); err != nil {
			return nil, err
		}
	}
	if p.acc.Status != account.Active {
		return nil, errs.Field("account", "account %s is %s", p.acc.ID, p.acc.Status)
	}
	if p.token == nil {
		toks, _, err := tx.IdTokens().List(ctx, store.Query{Filter: map[string]string{"account_id": p.acc.ID}, Limit: 50})
		if err != nil {
			return nil, err
		}
		for i := range toks {
			if toks[i].Status == "" || toks[i].Status == account.Active {
				p.token = &toks[i]
				break
			}
		}
	}
	if p.vehicle.BatteryType == "" {
		return nil, errs.Field("vehicle", "vehicle %s has no swap battery type", p.vehicle.ID)
	}
	return p, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// stationBatteries lists the batteries in a station's cabinets, and the cabinets.
func stationBatteries(ctx context.Context, tx store.Tx, stationID string) ([]asset.Battery, []asset.Cabinet, error) {
	cabs, _, err := tx.Cabinets().List(ctx, store.Query{Filter: map[string]string{"station_id": stationID}, Limit: 500})
	if err != nil {
		return nil, nil, err
	}
	var out []asset.Battery
	for _, c := range cabs {
		bs, _, err := tx.Batteries().List(ctx, store.Query{Filter: map[string]string{"cabinet_id": c.ID}, Limit: 500})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, bs...)
	}
	return out, cabs, nil
}

// swapTariff picks the tariff of a swap: the token's, the station's, the site's default.
func swapTariff(ctx context.Context, tx store.Tx, st *asset.Station, tok *account.IdToken) (*billing.TariffRecord, *time.Location, error) {
	var candidates []string
	if tok != nil {
		candidates = append(candidates, tok.TariffID)
	}
	candidates = append(candidates, st.TariffID)
	loc := time.UTC
	if site, err := tx.Sites().Get(ctx, st.SiteID); err == nil {
		candidates = append(candidates, site.DefaultTariffID)
		if l, err := time.LoadLocation(site.TimeZone); err == nil {
			loc = l
		}
	}
	for _, id := range candidates {
		if id == "" {
			continue
		}
		rec, err := tx.Tariffs().Latest(ctx, id)
		if err == nil && rec.Status == billing.TariffActive {
			return rec, loc, nil
		}
	}
	return nil, loc, errs.E(errs.Conflict, "station %s has no active tariff to price a swap", st.ID)
}

// dispatchTx creates a dispatched order: checks, picks the battery, holds the estimate and
// reserves the battery. wantType, when set, is the type of the battery the vehicle handed in.
func (a *App) dispatchTx(ctx context.Context, tx store.Tx, in SwapRequest, requestID int, origin, wantType string) (*swap.Order, string, error) {
	st, err := swapStation(ctx, tx, in.StationID)
	if err != nil {
		return nil, "", err
	}
	p, err := swapVehicle(ctx, tx, in)
	if err != nil {
		return nil, "", err
	}
	if wantType != "" && wantType != p.vehicle.BatteryType {
		return nil, "", errs.Field("battery_type", "the battery handed in is of type %s, vehicle %s takes %s", wantType, p.vehicle.ID, p.vehicle.BatteryType)
	}
	if p.token != nil {
		auth, err := a.authorizeTx(ctx, tx, p.token.UID)
		if err != nil {
			return nil, "", err
		}
		if auth.Status != account.AuthAccepted && auth.Status != account.AuthNoCredit {
			return nil, "", errs.Field("id_token", "token %s is %s", p.token.UID, auth.Status)
		}
	}
	bs, _, err := stationBatteries(ctx, tx, st.ID)
	if err != nil {
		return nil, "", err
	}
	if n, _, err := tx.Batteries().List(ctx, store.Query{Filter: map[string]string{"battery_type": p.vehicle.BatteryType}, Limit: 1}); err != nil {
		return nil, "", err
	} else if len(n) == 0 {
		return nil, "", errs.Field("battery_type", "unknown battery type %s: no battery of that type exists", p.vehicle.BatteryType)
	}
	pol := a.SwapPolicy(st.ID)
	b, err := pol.Pick(p.vehicle.BatteryType, bs)
	if err != nil {
		return nil, "", err
	}
	rec, loc, err := swapTariff(ctx, tx, st, p.token)
	if err != nil {
		return nil, "", err
	}
	if rec.Currency != p.acc.Currency {
		return nil, "", errs.E(errs.Conflict, "the swap tariff is in %s, account %s in %s", rec.Currency, p.acc.ID, p.acc.Currency)
	}
	t, err := tariffVersion(ctx, tx, rec.ID, rec.Version)
	if err != nil {
		return nil, "", err
	}
	socIn := 0.0
	if in.SoCInPct != nil {
		socIn = *in.SoCInPct
	}
	wh, err := swap.EnergyWh(b.CapacityWh, float64(b.SoCPct), socIn)
	if err != nil {
		return nil, "", err
	}
	now := a.now()
	est, err := swap.Price(wh, *t, now, loc)
	if err != nil {
		return nil, "", err
	}
	if requestID == 0 {
		n, err := tx.Next(ctx, "swap_request")
		if err != nil {
			return nil, "", err
		}
		requestID = int(n)
	}
	o := &swap.Order{ID: ids.New("swp"), StationID: st.ID, RequestID: requestID, Origin: origin, AccountID: p.acc.ID, VehicleID: p.vehicle.ID,
		BatteryType: p.vehicle.BatteryType, Status: swap.Dispatched, OutBatteryID: b.ID, OutSerial: b.Serial, OutCapWh: b.CapacityWh,
		TariffID: rec.ID, TariffVersion: rec.Version, Currency: rec.Currency, CreatedAt: now, UpdatedAt: now}
	tokType := "Central"
	if p.token != nil {
		o.IdToken, tokType = p.token.UID, p.token.Type
	} else {
		o.IdToken = p.vehicle.ID
	}
	if o.HeldMinor, err = a.HoldTx(ctx, tx, p.acc.ID, o.ID, est.ChargedMinor); err != nil {
		return nil, "", err
	}
	if o.HeldMinor < est.ChargedMinor {
		// The transaction rolls back: the partial hold is undone with everything else.
		return nil, "", &errs.Error{Kind: errs.InsufficientFunds, Field: "account", Msg: fmt.Sprintf("insufficient balance: the swap may cost up to %s %s, account %s can pay %s %s",
			fmtMinor(est.ChargedMinor, rec.Currency), rec.Currency, p.acc.ID, fmtMinor(o.HeldMinor, rec.Currency), rec.Currency)}
	}
	b.State, b.UpdatedAt = asset.BatteryReserved, now
	if err := tx.Batteries().Update(ctx, &b); err != nil {
		return nil, "", err
	}
	if err := addBatteryEvent(ctx, tx, &b, swap.EventReserved, o, nil, nil, now); err != nil {
		return nil, "", err
	}
	return o, tokType, tx.Swaps().Create(ctx, o)
}

func fmtMinor(m int64, cur string) string { return money.FormatMinor(m, cur) }

func addBatteryEvent(ctx context.Context, tx store.Tx, b *asset.Battery, kind string, o *swap.Order, soc, soh *float64, at time.Time) error {
	e := &swap.BatteryEvent{ID: ids.New("bev"), BatteryID: b.ID, Serial: b.Serial, Kind: kind, SoCPct: soc, SoHPct: soh, State: b.State, At: at}
	if o != nil {
		e.OrderID, e.StationID, e.VehicleID = o.ID, o.StationID, o.VehicleID
	}
	return tx.Swaps().AddBatteryEvent(ctx, e)
}

// cancelSwap cancels a dispatched order: hold released, battery ready again.
func (a *App) cancelSwap(ctx context.Context, orderID, reason string) error {
	var o *swap.Order
	err := a.swapTx(ctx, func(tx store.Tx) error {
		var err error
		if o, err = tx.Swaps().Get(ctx, orderID); err != nil || swap.Final(o.Status) {
			return err
		}
		return a.closeSwapTx(ctx, tx, o, swap.Cancelled, reason)
	})
	if err == nil && o != nil {
		a.Bus.Publish(Event{Kind: EventSwapUpdated, StationID: o.StationID, Data: o})
	}
	return err
}

// closeSwapTx ends an order without billing it (cancelled or timed out).
func (a *App) closeSwapTx(ctx context.Context, tx store.Tx, o *swap.Order, status, reason string) error {
	now := a.now()
	if err := a.SettleTx(ctx, tx, o.AccountID, o.ID, 0); err != nil {
		return err
	}
	if o.OutBatteryID != "" && (o.OutSoCPct == nil) {
		if b, err := tx.Batteries().Get(ctx, o.OutBatteryID); err == nil && b.State == asset.BatteryReserved {
			b.State, b.UpdatedAt = asset.BatteryReady, now
			if err := tx.Batteries().Update(ctx, b); err != nil {
				return err
			}
			if err := addBatteryEvent(ctx, tx, b, swap.EventReleased, o, nil, nil, now); err != nil {
				return err
			}
		}
	}
	o.Status, o.Reason, o.UpdatedAt = status, reason, now
	return tx.Swaps().Update(ctx, o)
}

// BatterySwap records a station's BatteryIn, BatteryOut or BatteryOutTimeout. The order is the
// open one of the station with that requestId; a BatteryIn (or BatteryOut) of a requestId EVCS
// does not know starts an order at the station (checked like RequestSwap: the error says why it
// is refused, and nothing is recorded). When both batteries of an order are recorded the swap
// is billed. A message seen before (same requestId, event and battery) changes nothing.
func (a *App) BatterySwap(ctx context.Context, e SwapEvent) (*swap.Order, error) {
	var o *swap.Order
	var soh []asset.Battery
	kind := EventSwapUpdated
	err := a.swapTx(ctx, func(tx store.Tx) error {
		o, soh, kind = nil, nil, EventSwapUpdated
		var err error
		o, kind, soh, err = a.batterySwapTx(ctx, tx, e)
		return err
	})
	if err != nil {
		return nil, errs.Wrap("battery swap", err)
	}
	if o != nil && kind != "" {
		a.Bus.Publish(Event{Kind: kind, StationID: e.StationID, Data: o})
	}
	for i := range soh {
		a.Bus.Publish(Event{Kind: EventBatterySoHLow, StationID: e.StationID, Data: soh[i]})
	}
	return o, nil
}

func (a *App) batterySwapTx(ctx context.Context, tx store.Tx, e SwapEvent) (*swap.Order, string, []asset.Battery, error) {
	if len(e.Batteries) == 0 && e.Event != "BatteryOutTimeout" {
		return nil, "", nil, errs.Field("batteryData", "is required")
	}
	o, err := findOrder(ctx, tx, e.StationID, e.RequestID)
	if err != nil {
		return nil, "", nil, err
	}
	if o != nil && replayed(o, e) {
		return o, "", nil, nil // seen before: nothing moves
	}
	switch e.Event {
	case "BatteryOutTimeout":
		if o == nil || swap.Final(o.Status) {
			return o, "", nil, nil
		}
		return o, EventSwapUpdated, nil, a.closeSwapTx(ctx, tx, o, swap.TimedOut, "the battery was not taken out of the station in time")
	case "BatteryIn", "BatteryOut":
	default:
		return nil, "", nil, errs.Field("eventType", "unknown %q", e.Event)
	}
	if o == nil || swap.Final(o.Status) {
		// Started at the station: check and dispatch as RequestSwap would.
		b0, err := batteryBySerial(ctx, tx, e.Batteries[0].Serial)
		if err != nil {
			return nil, "", nil, err
		}
		in := SwapRequest{StationID: e.StationID, IdToken: e.IdToken}
		wantType := ""
		if e.Event == "BatteryIn" {
			soc := e.Batteries[0].SoCPct
			in.SoCInPct, wantType = &soc, b0.BatteryType
		}
		if o, _, err = a.dispatchTx(ctx, tx, in, e.RequestID, swap.OriginStation, wantType); err != nil {
			return nil, "", nil, err
		}
	}
	var low []asset.Battery
	for _, bd := range e.Batteries {
		b, err := batteryBySerial(ctx, tx, bd.Serial)
		if err != nil {
			return nil, "", nil, err
		}
		if b.BatteryType != o.BatteryType {
			return nil, "", nil, errs.Field("batteryData.serialNumber", "battery %s is of type %s, the vehicle takes %s", b.Serial, b.BatteryType, o.BatteryType)
		}
		var isLow bool
		if e.Event == "BatteryIn" {
			isLow, err = a.batteryIn(ctx, tx, o, b, bd)
		} else {
			isLow, err = a.batteryOut(ctx, tx, o, b, bd)
		}
		if err != nil {
			return nil, "", nil, err
		}
		if isLow {
			low = append(low, *b)
		}
	}
	kind := EventSwapUpdated
	if o.InSerial != "" && o.OutSerial != "" && o.OutSoCPct != nil && o.InSoCPct != nil {
		if err := a.billSwapTx(ctx, tx, o); err != nil {
			return nil, "", nil, err
		}
		kind = EventSwapCompleted
	}
	o.UpdatedAt = a.now()
	return o, kind, low, tx.Swaps().Update(ctx, o)
}

// findOrder returns the latest order of a station with requestId, or nil.
func findOrder(ctx context.Context, tx store.Tx, stationID string, requestID int) (*swap.Order, error) {
	q := store.Query{Filter: map[string]string{"station_id": stationID, "request_id": itoa(requestID)}, Limit: 500}
	var last *swap.Order
	for {
		os, next, err := tx.Swaps().List(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(os) > 0 {
			last = &os[len(os)-1]
		}
		if next == "" {
			return last, nil
		}
		q.Cursor = next
	}
}

// replayed reports whether e was applied to o already.
func replayed(o *swap.Order, e SwapEvent) bool {
	switch e.Event {
	case "BatteryIn":
		return len(e.Batteries) > 0 && o.InSoCPct != nil && o.InSerial == e.Batteries[0].Serial
	case "BatteryOut":
		return len(e.Batteries) > 0 && o.OutSoCPct != nil && o.OutSerial == e.Batteries[0].Serial
	case "BatteryOutTimeout":
		return o.Status == swap.TimedOut
	}
	return false
}

func batteryBySerial(ctx context.Context, tx store.Tx, serial string) (*asset.Battery, error) {
	b, err := tx.Batteries().GetBy(ctx, "serial", serial)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Field("batteryData.serialNumber", "unknown battery %q", serial)
	}
	return b, err
}

// readPct rounds a reported percentage to the whole percent the battery record keeps.
func readPct(v float64) int { return int(math.Floor(v + 0.5)) }

// batteryIn puts the vehicle's battery into a slot of the station: it charges from now on.
func (a *App) batteryIn(ctx context.Context, tx store.Tx, o *swap.Order, b *asset.Battery, bd SwapBattery) (bool, error) {
	now := a.now()
	_, cabs, err := stationBatteries(ctx, tx, o.StationID)
	if err != nil {
		return false, err
	}
	soc, soh := bd.SoCPct, bd.SoHPct
	o.InBatteryID, o.InSerial, o.InSoCPct, o.InSoHPct = b.ID, b.Serial, &soc, &soh
	if o.Status == swap.Dispatched {
		o.Status = swap.InReceived
	}
	b.VehicleID, b.SlotNo, b.State = "", bd.EVSENo, asset.BatteryCharging
	if len(cabs) > 0 {
		b.CabinetID = cabs[0].ID
	}
	b.SoCPct, b.SoHPct, b.Cycles, b.UpdatedAt = readPct(soc), readPct(soh), b.Cycles+1, now
	return a.checkSoH(ctx, tx, o, b, swap.EventSwapIn, &soc, &soh, now)
}

// batteryOut gives the vehicle its new battery. A battery other than the dispatched one (the
// station chose) is billed instead, and the dispatched one is ready again.
func (a *App) batteryOut(ctx context.Context, tx store.Tx, o *swap.Order, b *asset.Battery, bd SwapBattery) (bool, error) {
	now := a.now()
	if o.OutBatteryID != "" && o.OutBatteryID != b.ID {
		if old, err := tx.Batteries().Get(ctx, o.OutBatteryID); err == nil && old.State == asset.BatteryReserved {
			old.State, old.UpdatedAt = asset.BatteryReady, now
			if err := tx.Batteries().Update(ctx, old); err != nil {
				return false, err
			}
			if err := addBatteryEvent(ctx, tx, old, swap.EventReleased, o, nil, nil, now); err != nil {
				return false, err
			}
		}
	}
	soc, soh := bd.SoCPct, bd.SoHPct
	o.OutBatteryID, o.OutSerial, o.OutCapWh, o.OutSoCPct, o.OutSoHPct = b.ID, b.Serial, b.CapacityWh, &soc, &soh
	b.CabinetID, b.SlotNo, b.VehicleID, b.State = "", 0, o.VehicleID, asset.BatteryInVehicle
	b.SoCPct, b.SoHPct, b.UpdatedAt = readPct(soc), readPct(soh), now
	return a.checkSoH(ctx, tx, o, b, swap.EventSwapOut, &soc, &soh, now)
}

// checkSoH stores a battery after a swap with its history, and takes it out of rotation
// (maintenance) when its state of health is below the policy's threshold. It reports whether
// it did, for the battery.soh_low event.
func (a *App) checkSoH(ctx context.Context, tx store.Tx, o *swap.Order, b *asset.Battery, kind string, soc, soh *float64, now time.Time) (bool, error) {
	low := *soh < a.SwapPolicy(o.StationID).MinSoHPct && b.State != asset.BatteryMaintenance && b.State != asset.BatteryInVehicle
	if low {
		b.State = asset.BatteryMaintenance
	}
	if err := tx.Batteries().Update(ctx, b); err != nil {
		return false, err
	}
	if err := addBatteryEvent(ctx, tx, b, kind, o, soc, soh, now); err != nil {
		return false, err
	}
	if low {
		e := &swap.BatteryEvent{ID: ids.New("bev"), BatteryID: b.ID, Serial: b.Serial, Kind: swap.EventRetired, OrderID: o.ID, StationID: o.StationID,
			SoHPct: soh, State: b.State, At: now, Note: fmt.Sprintf("state of health %g %% is below %g %%: out of rotation", *soh, a.SwapPolicy(o.StationID).MinSoHPct)}
		if err := tx.Swaps().AddBatteryEvent(ctx, e); err != nil {
			return false, err
		}
	}
	return low, nil
}

// billSwapTx prices a swap whose batteries are both recorded and settles it against its hold.
func (a *App) billSwapTx(ctx context.Context, tx store.Tx, o *swap.Order) error {
	wh, err := swap.EnergyWh(o.OutCapWh, *o.OutSoCPct, *o.InSoCPct)
	if err != nil {
		return err
	}
	t, err := tariffVersion(ctx, tx, o.TariffID, o.TariffVersion)
	if err != nil {
		return err
	}
	loc := time.UTC
	if st, err := tx.Stations().Get(ctx, o.StationID); err == nil {
		if site, err := tx.Sites().Get(ctx, st.SiteID); err == nil {
			if l, err := time.LoadLocation(site.TimeZone); err == nil {
				loc = l
			}
		}
	}
	now := a.now()
	bill, err := swap.Price(wh, *t, now, loc)
	if err != nil {
		return err
	}
	if err := a.SettleTx(ctx, tx, o.AccountID, o.ID, bill.ChargedMinor); err != nil {
		return err
	}
	total := bill.ChargedMinor
	o.EnergyWh, o.TotalMinor, o.ExclVATMinor = wh, &total, bill.TotalExcl
	o.EnergyMinor, o.FeeMinor = bill.EnergyIncl, bill.FeeIncl
	if !bill.InclKnown {
		o.EnergyMinor, o.FeeMinor = bill.EnergyExcl, bill.FeeExcl
	}
	o.Status, o.CompletedAt = swap.Completed, &now
	return nil
}

// Swaps lists swap orders (filters: station_id, request_id, account_id, vehicle_id,
// battery_type, status).
func (a *App) Swaps(ctx context.Context, q store.Query) ([]swap.Order, string, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("list swaps", err)
	}
	var out []swap.Order
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, next, err = tx.Swaps().List(ctx, q); return })
	return out, next, errs.Wrap("list swaps", err)
}

// Swap returns one swap order.
func (a *App) Swap(ctx context.Context, id string) (*swap.Order, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, errs.Wrap("get swap", err)
	}
	var out *swap.Order
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, err = tx.Swaps().Get(ctx, id); return })
	return out, errs.Wrap("get swap", err)
}

// BatteryHistory pages a battery's history (swaps, SoH readings, rotation), oldest first.
func (a *App) BatteryHistory(ctx context.Context, batteryID string, q store.Query) ([]swap.BatteryEvent, string, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("battery history", err)
	}
	var out []swap.BatteryEvent
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) error {
		if _, err := mustExist(ctx, tx.Batteries(), "battery_id", batteryID); err != nil {
			return &errs.Error{Kind: errs.NotFound, Field: "id", Msg: "battery " + batteryID + " does not exist"}
		}
		var err error
		out, next, err = tx.Swaps().BatteryHistory(ctx, batteryID, q)
		return err
	})
	return out, next, errs.Wrap("battery history", err)
}

// RecordBatteryStatus records SoC/SoH readings of batteries in a station's slots (DataTransfer
// "BatteryStatus"): each reading goes into the battery's history, and a battery whose SoH falls
// below the station's threshold leaves rotation (maintenance) with a battery.soh_low event.
func (a *App) RecordBatteryStatus(ctx context.Context, stationID string, bs []SwapBattery) error {
	var low []asset.Battery
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		low = nil
		for _, bd := range bs {
			b, err := batteryBySerial(ctx, tx, bd.Serial)
			if err != nil {
				return err
			}
			soc, soh := bd.SoCPct, bd.SoHPct
			b.SoCPct, b.SoHPct, b.UpdatedAt = readPct(soc), readPct(soh), a.now()
			pol := a.SwapPolicy(stationID)
			if b.State == asset.BatteryCharging && soc >= pol.ReadySoCPct {
				b.State = asset.BatteryReady
			}
			isLow, err := a.checkSoH(ctx, tx, &swap.Order{StationID: stationID}, b, swap.EventSoH, &soc, &soh, a.now())
			if err != nil {
				return err
			}
			if isLow {
				low = append(low, *b)
			}
		}
		return nil
	})
	for i := range low {
		a.Bus.Publish(Event{Kind: EventBatterySoHLow, StationID: stationID, Data: low[i]})
	}
	return errs.Wrap("battery status", err)
}

// SwapDataTransfer handles the battery-swap DataTransfer messages of vendor SwapVendorID from
// stations on OCPP 1.6 and 2.0.1 (see SwapVendorID for the message ids). data is the message's
// data: a JSON string holding the JSON document (1.6), or the document itself (2.0.1). It
// returns the DataTransfer status: Accepted; Rejected with the reason when EVCS refuses the
// swap (nothing is recorded then); Accepted for other message ids (kept as station events only).
func (a *App) SwapDataTransfer(ctx context.Context, stationID, messageID string, data []byte) (status, reason string, err error) {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return "Rejected", "data is not a JSON string", nil
		}
		data = []byte(s)
	}
	switch messageID {
	case MsgBatterySwap:
		var m struct {
			EventType string `json:"eventType"`
			IdToken   struct {
				IdToken string `json:"idToken"`
				Type    string `json:"type"`
			} `json:"idToken"`
			RequestID   int           `json:"requestId"`
			BatteryData []SwapBattery `json:"batteryData"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return "Rejected", "data is not a BatterySwap document: " + err.Error(), nil
		}
		_, err := a.BatterySwap(ctx, SwapEvent{StationID: stationID, Event: m.EventType, IdToken: m.IdToken.IdToken, TokenType: m.IdToken.Type,
			RequestID: m.RequestID, Batteries: m.BatteryData})
		return refusal(err)
	case MsgBatteryStatus:
		var m struct {
			BatteryData []SwapBattery `json:"batteryData"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return "Rejected", "data is not a BatteryStatus document: " + err.Error(), nil
		}
		return refusal(a.RecordBatteryStatus(ctx, stationID, m.BatteryData))
	}
	return "Accepted", "", nil // other org.evcs messages are kept as station events, as before
}

// refusal turns a use case's refusal into a Rejected DataTransfer; other errors stay errors.
func refusal(err error) (string, string, error) {
	if err == nil {
		return "Accepted", "", nil
	}
	switch errs.KindOf(err) {
	case errs.Invalid, errs.NotFound, errs.Conflict, errs.InsufficientFunds, errs.Forbidden:
		return "Rejected", errs.Message(err), nil
	}
	return "", "", err
}
