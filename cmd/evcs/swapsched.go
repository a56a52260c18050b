package main

import (
	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/app"
)

// swapScheduleOptions tunes the swap charging scheduler of the next Main started.
var swapScheduleOptions app.SwapScheduleOptions

// The swap charging scheduler starts with Main, beside the load manager (it runs on the node
// leading the job "swap.schedule"), and stops before the store closes.
func init() {
	mounts = append(mounts, func(m *Main, _ chi.Router) { m.App.StartSwapSchedule(swapScheduleOptions) })
	shutdowns = append(shutdowns, func(m *Main) {
		if m.App == nil {
			return
		}
		if s := m.App.SwapScheduler(); s != nil {
			s.Stop()
		}
	})
}
