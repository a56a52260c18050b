package main

import (
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/modbus"
)

// The alarm monitor runs with every Main: it follows the station bus, sweeps for stations
// that stay away, and polls the site meters and active filters configured as devices.
func init() {
	mounts = append(mounts, startMonitor)
	shutdowns = append(shutdowns, stopMonitor)
}

func startMonitor(m *Main, _ chi.Router) {
	mon := m.App.Monitor()
	mon.Reader = modbus.NewReader(3 * time.Second)
	if m.Cfg.AlarmHook != "" {
		m.App.SetAlarmWebhook(m.Cfg.AlarmHook)
	}
	mon.Start()
}

func stopMonitor(m *Main) {
	if m.App == nil {
		return
	}
	mon := m.App.Monitor()
	mon.Stop()
	if r, ok := mon.Reader.(*modbus.Reader); ok {
		r.Close()
	}
}
