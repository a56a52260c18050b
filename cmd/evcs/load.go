package main

import (
	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/app"
)

// loadOptions tunes the load manager of the next Main started (tests shorten the debounce).
var loadOptions app.LoadOptions

// The load manager starts with Main (when its handler is built, after the OCPP server is wired)
// and stops before the store closes.
func init() {
	mounts = append(mounts, func(m *Main, _ chi.Router) {
		opt := loadOptions
		if opt.ExtraDemands == nil {
			opt.ExtraDemands = m.App.SwapDemands // batteries charging in swap cabinets count against the site's limit
		}
		m.App.StartLoad(opt)
	})
	shutdowns = append(shutdowns, func(m *Main) {
		if lm := m.App.LoadManager(); lm != nil {
			lm.Stop()
		}
	})
}
