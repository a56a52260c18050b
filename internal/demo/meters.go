package demo

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/modbus"
	"github.com/evcs/evcs/internal/store"
)

// Meters are the demo's simulated Modbus devices: the Amsterdam depot's site meter and its
// active harmonic filter, each a Modbus TCP server on a free local port.
type Meters struct {
	// Devices maps each demo device's id to the address it is served on.
	Devices map[string]string
	sims    []*modbus.Sim
}

// demoDevices are Seed's Modbus devices, by name, and whether each is a filter.
var demoDevices = map[string]bool{"Site meter": false, "Active harmonic filter": true}

// StartMeters serves the demo's site meter and active filter on free local ports and points
// their devices at them (they move to new ports at every start), so that the device poller
// reads a real Modbus peer and the load manager sees a site meter. Call it after Seed; Stop
// ends them.
func StartMeters(ctx context.Context, a *app.App) (*Meters, error) {
	ctx = app.WithActor(ctx, app.System)
	var devs []asset.Device
	if err := a.Store.View(ctx, func(tx store.Tx) error {
		for _, kind := range []string{asset.DeviceMeter, asset.DeviceFilter} {
			ds, _, err := tx.Devices().List(ctx, store.Query{Filter: map[string]string{"kind": kind}, Limit: 500})
			if err != nil {
				return err
			}
			devs = append(devs, ds...)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	m := &Meters{Devices: map[string]string{}}
	for _, d := range devs {
		filter, ok := demoDevices[d.Name]
		if !ok || filter != (d.Kind == asset.DeviceFilter) {
			continue
		}
		s := modbus.NewSim(filter)
		if err := s.Start("127.0.0.1:0"); err != nil {
			m.Stop()
			return nil, err
		}
		m.sims = append(m.sims, s)
		patch, _ := json.Marshal(map[string]any{"modbus_address": s.Addr(), "modbus_unit": d.ModbusUnit})
		if _, err := app.Patch(ctx, a, app.Devices, d.ID, patch); err != nil {
			m.Stop()
			return nil, err
		}
		m.Devices[d.ID] = s.Addr()
	}
	if len(m.sims) == 0 {
		return nil, errors.New("demo meters: the demo has no site meter (seed it first)")
	}
	return m, nil
}

// Stop ends the simulated devices.
func (m *Meters) Stop() {
	if m == nil {
		return
	}
	for _, s := range m.sims {
		_ = s.Stop()
	}
	m.sims = nil
}
