package app

import (
	"context"
	"sync"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/monitor"
	"github.com/evcs/evcs/internal/store"
)

// DeviceReader reads one sample of a site meter or active filter (the Modbus client
// implements it).
type DeviceReader interface {
	Read(ctx context.Context, d asset.Device) (monitor.Sample, error)
}

// PollResult says how a device poll went.
type PollResult struct {
	Polled, Failed int
}

// pollConcurrency bounds the devices read at once (an unreachable one waits for its timeout).
const pollConcurrency = 8

// PollDevices reads every active device with a Modbus address once, stores its readings at
// now, and judges them: power quality (THD, power factor), the load of the node a meter
// measures, and whether the device answers at all.
func (m *AlarmMonitor) PollDevices(ctx context.Context, now time.Time) (PollResult, error) {
	if !m.a.leads(ctx, "devices.poll") {
		return PollResult{}, nil // another node polls
	}
	if m.Reader == nil {
		return PollResult{}, errs.E(errs.Unavailable, "no device reader")
	}
	var devices []asset.Device
	nodes := map[string]asset.Node{}
	err := m.a.Store.View(ctx, func(tx store.Tx) error {
		all, err := listAll(ctx, tx.Devices())
		if err != nil {
			return err
		}
		for _, d := range all {
			if d.Status != asset.Active || d.ModbusAddr == "" {
				continue
			}
			devices = append(devices, d)
			if d.Kind == asset.DeviceMeter && d.NodeID != "" {
				if _, ok := nodes[d.NodeID]; !ok {
					n, err := tx.Nodes().Get(ctx, d.NodeID)
					if err != nil && !errs.Is(err, errs.NotFound) {
						return err
					}
					if n != nil {
						nodes[d.NodeID] = *n
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return PollResult{}, errs.Wrap("poll devices", err)
	}
	samples := make([]monitor.Sample, len(devices))
	errors := make([]error, len(devices))
	var wg sync.WaitGroup
	sem := make(chan struct{}, pollConcurrency)
	for i, d := range devices {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			samples[i], errors[i] = m.Reader.Read(ctx, d)
		}()
	}
	wg.Wait()

	var res PollResult
	var readings []monitor.DeviceReading
	var meters []DevicePower
	var conds []monitor.Condition
	for i, d := range devices {
		name := d.Name
		conds = append(conds, monitor.Unreachable(d.ID, d.SiteID, name, errors[i]))
		if errors[i] != nil {
			res.Failed++
			continue
		}
		res.Polled++
		s := samples[i]
		s.At = now
		readings = append(readings, s.Readings(d.ID)...)
		if d.Kind == asset.DeviceMeter {
			meters = append(meters, DevicePower{SiteID: d.SiteID, DeviceID: d.ID, NodeID: d.NodeID, PowerW: s.PowerW})
		}
		src := monitor.DeviceSource(d.ID)
		open := map[string]string{}
		for _, k := range []string{monitor.KindVoltageTHD, monitor.KindCurrentTHD, monitor.KindPowerFactorLow} {
			open[k] = m.openSeverity(src, k)
		}
		conds = append(conds, monitor.PowerQuality(d.ID, d.SiteID, name, s, open, m.Thresholds)...)
		if n, ok := nodes[d.NodeID]; ok && d.Kind == asset.DeviceMeter && n.LimitKW != nil {
			cur := m.openSeverity(monitor.NodeSource(n.ID), monitor.KindNodeOverload)
			if c, ok := monitor.NodeLoad(n.ID, n.SiteID, n.Name, int64(*n.LimitKW), max(s.PowerW, -s.PowerW), cur, m.Thresholds); ok {
				conds = append(conds, c)
			}
		}
	}
	if len(readings) > 0 {
		if err := m.a.Store.InTx(ctx, func(tx store.Tx) error { return tx.Monitor().AddDeviceReadings(ctx, readings) }); err != nil {
			return res, errs.Wrap("store device readings", err)
		}
	}
	if len(meters) > 0 {
		m.a.Bus.Publish(Event{Kind: EventDevicesPolled, Data: meters}) // the load manager counts them
	}
	return res, m.apply(ctx, now, conds)
}

// EventDevicesPolled is published after a device poll stored readings (Data []DevicePower: the
// site meters read). The load manager takes a fresh meter reading as its node's measured load.
const EventDevicesPolled = "devices.polled"

// DevicePower is a site meter's power as one poll read it.
type DevicePower struct {
	SiteID   string `json:"site_id"`
	DeviceID string `json:"device_id"`
	NodeID   string `json:"node_id,omitempty"`
	PowerW   int64  `json:"power_w"`
}

// DeviceReadings pages a device's stored readings, newest first.
func (a *App) DeviceReadings(ctx context.Context, deviceID string, q store.ReadingQuery) ([]monitor.DeviceReading, string, error) {
	if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("device readings", err)
	}
	var out []monitor.DeviceReading
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Devices().Get(ctx, deviceID); err != nil {
			return err
		}
		var err error
		out, next, err = tx.Monitor().DeviceReadings(ctx, deviceID, q)
		return err
	})
	return out, next, errs.Wrap("device readings", err)
}
