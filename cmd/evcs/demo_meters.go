package main

import (
	"context"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/demo"
)

// demoMeters holds each demo Main's simulated Modbus devices (Main has no field for them).
var demoMeters sync.Map // *Main → *demo.Meters

// `serve --demo` serves the demo's site meter and active filter as simulated Modbus devices on
// free local ports (after Seed, before the device poller starts), and stops them at shutdown.
func init() {
	mounts = append(mounts, func(m *Main, _ chi.Router) {
		if !m.Cfg.Demo {
			return
		}
		ms, err := demo.StartMeters(context.Background(), m.App)
		if err != nil {
			m.Log.Warn("demo: simulated Modbus devices not started", "err", err)
			return
		}
		demoMeters.Store(m, ms)
	})
	shutdowns = append(shutdowns, func(m *Main) {
		if ms, ok := demoMeters.LoadAndDelete(m); ok {
			ms.(*demo.Meters).Stop()
		}
	})
}
