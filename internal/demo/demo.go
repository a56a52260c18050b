// Package demo seeds a demo operator and plays its stations, for `evcs serve --demo`: two sites
// with distribution trees and limits, stations of every kind on OCPP 1.6, 2.0.1 and 2.1,
// time-of-use, DC and export tariffs, purchasers with balances, tokens and vehicles; then
// simulated stations connect over real WebSockets to the same listener and charge, and one
// driver runs out of balance. The depot's site meter and active filter are simulated Modbus
// devices on local ports (StartMeters), read by the device poller like real ones.
package demo

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/energy"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
	"github.com/evcs/evcs/internal/store"
)

// Logins printed at start.
const (
	AdminToken       = "demo-admin-token-not-for-production"
	OperatorEmail    = "operator@demo.evcs"
	OperatorPassword = "demo-operator"
	DriverEmail      = "alice@demo.evcs"
	DriverPassword   = "demo-driver"
)

// station is a demo station and how it is played.
type station struct {
	id       string
	kind     string
	proto    ocppj.Version
	evses    int
	power    energy.KW
	tag      string // the driver who charges there
	v2x      bool
	sessions bool
}

var stations = []station{
	{"DEMO-AC7", asset.KindAC, ocppj.V16, 1, 7_400, "DEMO-ALICE", false, true},
	{"DEMO-AC22", asset.KindAC, ocppj.V201, 2, 22_000, "DEMO-BOB", false, true},
	{"DEMO-DC150", asset.KindDC, ocppj.V21, 1, 150_000, "DEMO-CAROL", false, true},
	{"DEMO-V2G", asset.KindDC, ocppj.V21, 1, 11_000, "DEMO-ERIN", true, true},
	{"DEMO-LOW", asset.KindAC, ocppj.V16, 1, 11_000, "DEMO-DAVE", false, true},
	{"DEMO-SWAP", asset.KindSwap, ocppj.V21, 8, 11_000, "", false, false}, // an EVSE per cabinet slot, an 11 kW charger each
}

type driver struct {
	name, email, tag, balance, plate, vin string
	batteryWh                             int64
}

var drivers = []driver{
	{"Alice Verhoeven", DriverEmail, "DEMO-ALICE", "100.00", "NL-123-A", "WVWZZZ1KZ6W000101", 58_000},
	{"Bob de Vries", "bob@demo.evcs", "DEMO-BOB", "60.00", "NL-456-B", "WVWZZZ1KZ6W000102", 77_000},
	{"Carol Jansen", "carol@demo.evcs", "DEMO-CAROL", "250.00", "NL-789-C", "WVWZZZ1KZ6W000103", 100_000},
	{"Dave Smit", "dave@demo.evcs", "DEMO-DAVE", "2.00", "NL-321-D", "WVWZZZ1KZ6W000104", 40_000}, // runs out of balance
	{"Erin Bakker", "erin@demo.evcs", "DEMO-ERIN", "80.00", "NL-654-E", "WVWZZZ1KZ6W000105", 82_000},
}

const (
	touTariff = `{"id":"DEMO-TOU","currency":"EUR","type":"REGULAR","tariff_alt_text":[{"language":"en","text":"0.35/kWh, 0.45/kWh 17:00-21:00, parking 2.00/h after 2 h"}],"elements":[
 {"price_components":[{"type":"ENERGY","price":0.45,"vat":21,"step_size":1}],"restrictions":{"start_time":"17:00","end_time":"21:00"}},
 {"price_components":[{"type":"ENERGY","price":0.35,"vat":21,"step_size":1}]},
 {"price_components":[{"type":"PARKING_TIME","price":2.00,"vat":21,"step_size":300}],"restrictions":{"min_duration":7200}}]}`
	dcTariff = `{"id":"DEMO-DC","currency":"EUR","type":"PROFILE_FAST","elements":[
 {"price_components":[{"type":"FLAT","price":0.50,"vat":21,"step_size":1}]},
 {"price_components":[{"type":"ENERGY","price":0.59,"vat":21,"step_size":1}]}]}`
	exportTariff = `{"id":"DEMO-EXPORT","currency":"EUR","type":"PROFILE_GREEN","elements":[
 {"price_components":[{"type":"ENERGY","price":0.12,"vat":21,"step_size":1}]}]}`
)

// Seed creates the demo operator unless it exists. It is safe to call at every start.
func Seed(ctx context.Context, a *app.App) error {
	ctx = app.WithActor(ctx, app.System)
	var seeded bool
	if err := a.Store.View(ctx, func(tx store.Tx) error {
		_, err := tx.Stations().Get(ctx, "DEMO-AC7")
		seeded = err == nil
		return nil
	}); err != nil || seeded {
		return err
	}
	s := &seeder{ctx: ctx, a: a}
	for _, body := range []string{touTariff, dcTariff, exportTariff} {
		if _, err := a.CreateTariff(ctx, []byte(body)); err != nil && !errs.Is(err, errs.Conflict) {
			return err
		}
	}
	ams := s.site("Amsterdam Depot", "Europe/Amsterdam", 250_000, "DEMO-TOU", "DEMO-EXPORT", "Amsterdam")
	utr := s.site("Utrecht Hub", "Europe/Amsterdam", 100_000, "DEMO-TOU", "", "Utrecht")
	grid := s.node(ams, "", asset.NodeGrid, "Grid connection", 250_000)
	trafo := s.node(ams, grid, asset.NodeTransformer, "Transformer T1", 250_000)
	feederA := s.node(ams, trafo, asset.NodeFeeder, "Feeder A (AC)", 100_000)
	feederB := s.node(ams, trafo, asset.NodeFeeder, "Feeder B (DC)", 200_000)
	gridU := s.node(utr, "", asset.NodeGrid, "Grid connection", 100_000)
	feederU := s.node(utr, gridU, asset.NodeFeeder, "Feeder U1", 100_000)
	s.device(ams, trafo, asset.DeviceMeter, "Site meter")
	s.device(ams, feederB, asset.DeviceFilter, "Active harmonic filter")
	for _, st := range stations {
		site, node := ams, feederA
		switch {
		case st.kind == asset.KindDC:
			node = feederB
		case st.id == "DEMO-LOW" || st.kind == asset.KindSwap:
			site, node = utr, feederU
		}
		s.station(st, site, node)
	}
	cab := s.cabinet("DEMO-SWAP", "Cabinet 1", 8)
	for i := 1; i <= 6; i++ {
		state := asset.BatteryReady
		if i > 4 {
			state = asset.BatteryCharging
		}
		s.battery(cab, i, state)
	}
	for _, d := range drivers {
		s.driver(d)
	}
	_, s.err = app.Create(ctx, a, app.Users, app.UserInput{UserFields: account.UserFields{Name: "Demo Operator", Email: OperatorEmail, Role: account.RoleOperator}, Password: OperatorPassword})
	return s.err
}

type seeder struct {
	ctx context.Context
	a   *app.App
	err error
}

func kw(w int64) *energy.KW { k := energy.KW(w); return &k }

func (s *seeder) site(name, tz string, limitW int64, tariff, export, city string) string {
	if s.err != nil {
		return ""
	}
	v, err := app.Create(s.ctx, s.a, app.Sites, asset.SiteFields{Name: name, TimeZone: tz, GridLimitKW: kw(limitW), DefaultTariffID: tariff, ExportTariffID: export,
		Address: &asset.Address{City: city, Country: "NL"}})
	if s.err = err; err != nil {
		return ""
	}
	return v.ID
}

func (s *seeder) node(site, parent, kind, name string, limitW int64) string {
	if s.err != nil {
		return ""
	}
	v, err := app.Create(s.ctx, s.a, app.Nodes, asset.NodeFields{SiteID: site, ParentID: parent, Kind: kind, Name: name, LimitKW: kw(limitW)})
	if s.err = err; err != nil {
		return ""
	}
	return v.ID
}

func (s *seeder) device(site, node, kind, name string) {
	if s.err != nil {
		return
	}
	_, s.err = app.Create(s.ctx, s.a, app.Devices, asset.DeviceFields{SiteID: site, NodeID: node, Kind: kind, Name: name, ModbusAddr: "127.0.0.1:1502", ModbusUnit: 1})
}

func (s *seeder) station(st station, site, node string) {
	if s.err != nil {
		return
	}
	in := app.StationInput{ID: st.id, StationFields: asset.StationFields{SiteID: site, NodeID: node, Kind: st.kind, Name: st.id, V2X: st.v2x}}
	if st.kind == asset.KindDC && !st.v2x {
		in.TariffID = "DEMO-DC"
	}
	if _, s.err = app.Create(s.ctx, s.a, app.Stations, in); s.err != nil {
		return
	}
	ctype, volts, current := "IEC_62196_T2", 400, "AC"
	if st.kind != asset.KindAC {
		ctype, volts, current = "IEC_62196_T2_COMBO", 800, "DC"
	}
	for n := 1; n <= st.evses; n++ {
		e, err := app.Create(s.ctx, s.a, app.EVSEs, asset.EVSEFields{StationID: st.id, EVSENo: n})
		if s.err = err; err != nil {
			return
		}
		p := st.power
		if _, s.err = app.Create(s.ctx, s.a, app.Connectors, asset.ConnectorFields{EVSEID: e.ID, ConnectorNo: 1, Type: ctype, MaxPowerKW: &p, VoltageV: volts, Current: current, Phases: 3}); s.err != nil {
			return
		}
	}
}

func (s *seeder) cabinet(stationID, name string, slots int) string {
	if s.err != nil {
		return ""
	}
	v, err := app.Create(s.ctx, s.a, app.Cabinets, asset.CabinetFields{StationID: stationID, Name: name, Slots: slots})
	if s.err = err; err != nil {
		return ""
	}
	return v.ID
}

func (s *seeder) battery(cabinet string, slot int, state string) {
	if s.err != nil {
		return
	}
	_, s.err = app.Create(s.ctx, s.a, app.Batteries, asset.BatteryFields{Serial: "DEMO-BAT-" + string(rune('0'+slot)), BatteryType: "SWAP-60", Chemistry: "LFP",
		CapacityWh: 60_000, SoHPct: 100 - slot, Cycles: 100 * slot, SoCPct: 60 + 5*slot, CabinetID: cabinet, SlotNo: slot, State: state})
}

func (s *seeder) driver(d driver) {
	if s.err != nil {
		return
	}
	u, err := app.Create(s.ctx, s.a, app.Users, app.UserInput{UserFields: account.UserFields{Name: d.name, Email: d.email, Role: account.RolePurchaser}, Currency: "EUR", Password: DriverPassword})
	if s.err = err; err != nil {
		return
	}
	if _, s.err = app.Create(s.ctx, s.a, app.IdTokens, account.IdTokenFields{UID: d.tag, Type: "ISO14443", AccountID: u.AccountID, Label: "RFID card"}); s.err != nil {
		return
	}
	if _, s.err = app.Create(s.ctx, s.a, app.Vehicles, account.VehicleFields{OwnerID: u.ID, VIN: d.vin, Plate: d.plate, Make: "Demo", Model: "EV", BatteryWh: d.batteryWh,
		ConnectorTypes: []string{"IEC_62196_T2", "IEC_62196_T2_COMBO"}, MinSoCPct: 30}); s.err != nil {
		return
	}
	_, s.err = s.a.TopUp(s.ctx, u.AccountID, app.TopUpInput{Amount: d.balance, Currency: "EUR", Method: "counter", Reference: "demo opening balance"}, "demo-opening-"+d.tag)
}

// MeterEvery is how often a demo station sends a meter value; each stands for SimStep of charging.
var (
	MeterEvery = 2 * time.Second
	SimStep    = 3 * time.Minute
)

// Play runs the demo stations against url (ws://host:port/ocpp) until ctx ends. Each meter value
// comes every few seconds and stands for minutes of charging, so sessions end and are billed
// within the first minute.
func Play(ctx context.Context, url string, log *slog.Logger) {
	var wg sync.WaitGroup
	for i, st := range stations {
		cfg := sim.Config{URL: url, Protocol: st.proto, Tag: st.tag, Kind: kindOf(st), EVSEs: st.evses, Sessions: st.sessions,
			MeterInterval: MeterEvery, SimStep: SimStep, BackoffMin: 500 * time.Millisecond, BackoffMax: 5 * time.Second,
			Seed: int64(i + 1), Vendor: "EVCS Demo", Model: st.kind, Log: log}
		s, err := sim.NewStation(cfg, st.id)
		if err != nil {
			log.Warn("demo station", "station", st.id, "err", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			_ = s.Run(ctx)
		}()
	}
	wg.Wait()
}

func kindOf(st station) string {
	if st.kind == asset.KindAC {
		return "ac"
	}
	return "dc"
}
