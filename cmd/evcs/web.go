package main

import (
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/web"
)

// consoles holds each running Main's console, to close its live streams at shutdown.
var consoles sync.Map // *Main → *web.Console

// The operator console owns / and its own paths (/login, /events, /stations/…); see
// internal/web.
func init() {
	mounts = append(mounts, func(m *Main, r chi.Router) { consoles.Store(m, web.Mount(r, m.App)) })
	shutdowns = append(shutdowns, func(m *Main) {
		if c, ok := consoles.LoadAndDelete(m); ok {
			c.(*web.Console).Close()
		}
	})
}
