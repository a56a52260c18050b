// Package sim plays OCPP charging stations against a CSMS: `evcs sim`, the load tests and the
// end-to-end tests use it. Each Station is a real OCPP-J client over WebSocket (1.6, 2.0.1 or
// 2.1) that boots, reports its connectors, sends heartbeats, charges vehicles with plausible
// meter curves, answers the CSMS's commands, and keeps its transaction messages in an ordered
// queue that survives disconnections (replayed with their original message ids).
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Config describes a simulation run and, shared by all its stations, how a station behaves.
// Zero values take the defaults noted.
type Config struct {
	URL       string        // CSMS endpoint without the identity, e.g. ws://127.0.0.1:8080/ocpp
	Stations  int           // number of stations Run starts (default 1)
	Protocol  ocppj.Version // the one subprotocol offered (default ocpp2.0.1)
	IDPrefix  string        // station identities are IDPrefix + 0001, 0002, … (default "SIM-")
	ID        string        // the exact identity of a single station (Stations must be 1); overrides IDPrefix
	Password  string        // HTTP Basic "id:password" when set (security profile 1)
	Tag       string        // idTag / idToken to charge with (default "SIM-TAG")
	TokenType string        // 2.x idToken type (default "ISO14443")
	Duration  time.Duration // how long Run runs; 0 = until ctx ends
	Kind      string        // "ac" (default) or "dc"
	EVSEs     int           // EVSEs per station, one connector each (default 2)

	// Sessions makes Run's stations charge by themselves: wait, authorize, charge for a while
	// with a meter value every MeterInterval, stop, repeat.
	Sessions bool
	// MeterInterval is the time between meter values of a session (default 60s). A step-driven
	// or load-mode sample always advances the meter model by this much simulated time.
	MeterInterval time.Duration
	// SimStep is how much charging time each meter value simulates (default MeterInterval).
	// The demo sends a meter value every few seconds that stands for minutes of charging.
	SimStep time.Duration
	// Load runs a closed loop per station as fast as the CSMS answers: Heartbeat, Authorize,
	// start, 3 × meter values, stop, repeat (see load.go).
	Load bool
	// Seed makes the meter ratings, vehicles and session timings reproducible (0 = random).
	Seed int64

	CallTimeout       time.Duration // wait for a CALLRESULT (default 30s)
	HeartbeatInterval time.Duration // until the CSMS sets one in its boot reply (default 300s)
	BackoffMin        time.Duration // first reconnect delay (default 1s); doubled per failure
	BackoffMax        time.Duration // reconnect delay cap (default 60s)
	MaxQueued         int           // offline queue bound (default 1000); meter values beyond it are dropped
	Ramp              time.Duration // delay between starting two stations in Run (default 2ms)

	Vendor, Model, Firmware string // BootNotification identity (defaults "EVCS", "Sim-AC"/"Sim-DC", "1.0")

	Log *slog.Logger // default: discard

	// OnFrame, when set, sees every frame a station sends (out=true) or receives. For tests and
	// tracing; it is called on the sending or reading goroutine and must not block.
	OnFrame func(station string, out bool, frame []byte)
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		c.URL = "ws://127.0.0.1:8080/ocpp"
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return c, fmt.Errorf("sim: url %q: want ws://host[:port]/path or wss://…", c.URL)
	}
	if c.Stations == 0 {
		c.Stations = 1
	}
	if c.Stations < 0 {
		return c, errors.New("sim: stations must be at least 1")
	}
	if c.ID != "" && c.Stations > 1 {
		return c, errors.New("sim: --id names one station; use --id-prefix for several")
	}
	if c.Protocol == 0 {
		c.Protocol = ocppj.V201
	}
	if !c.Protocol.Valid() {
		return c, fmt.Errorf("sim: unknown protocol %v", c.Protocol)
	}
	if c.IDPrefix == "" {
		c.IDPrefix = "SIM-"
	}
	if c.Tag == "" {
		c.Tag = "SIM-TAG"
	}
	if c.TokenType == "" {
		c.TokenType = "ISO14443"
	}
	switch c.Kind {
	case "":
		c.Kind = "ac"
	case "ac", "dc":
	default:
		return c, fmt.Errorf("sim: kind %q: want ac or dc", c.Kind)
	}
	if c.EVSEs <= 0 {
		c.EVSEs = 2
	}
	if c.Duration < 0 {
		return c, errors.New("sim: duration must not be negative")
	}
	if c.MeterInterval <= 0 {
		c.MeterInterval = time.Minute
	}
	if c.SimStep <= 0 {
		c.SimStep = c.MeterInterval
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 300 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(60*time.Second, c.BackoffMin)
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 1000
	}
	if c.Ramp <= 0 {
		c.Ramp = 2 * time.Millisecond
	}
	if c.Vendor == "" {
		c.Vendor = "EVCS"
	}
	if c.Model == "" {
		c.Model = "Sim-AC"
		if c.Kind == "dc" {
			c.Model = "Sim-DC"
		}
	}
	if c.Firmware == "" {
		c.Firmware = "1.0"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// StationID is the identity of the i-th station (0-based) of a run: IDPrefix + 4 digits.
func (c Config) StationID(i int) string {
	if c.ID != "" {
		return c.ID
	}
	return fmt.Sprintf("%s%04d", c.IDPrefix, i+1)
}
