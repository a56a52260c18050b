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
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
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
	Drivers   int           // 0 or 1: every station charges with Tag; N: station i with Tag-000k of driver k = i mod N + 1
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
	// Mix is what Load stations do once booted: MixClosed (the default), MixRealistic or
	// MixIdle (see loadgen.go). Load stations are lean: about 11 KB each in this process.
	Mix string
	// MaxMessages ends the run once this many CALLs were answered (0: no bound).
	MaxMessages int64
	// SourceAddrs are the local addresses the stations of a Load run dial from, in turn: each
	// TCP connection to the CSMS needs a local port of its own, and one address has about
	// 28,000 (net.ipv4.ip_local_port_range). Empty: when the CSMS is on 127.0.0.0/8 and there
	// are more stations than PerSourceAddr, 127.0.0.2, 127.0.0.3, … (all of 127/8 is loopback
	// on Linux; the CSMS may listen on 127.0.0.1 or 0.0.0.0); else the system's choice.
	SourceAddrs []netip.Addr
	// PerSourceAddr is how many connections one source address takes (default: the width of
	// ip_local_port_range less 10%, or 25,000).
	PerSourceAddr int
	// Seed makes the meter ratings, vehicles and session timings reproducible (0 = random).
	Seed int64

	CallTimeout       time.Duration // wait for a CALLRESULT (default 30s)
	HeartbeatInterval time.Duration // until the CSMS sets one in its boot reply (default 300s)
	BackoffMin        time.Duration // first reconnect delay (default 1s); doubled per failure
	BackoffMax        time.Duration // reconnect delay cap (default 60s)
	MaxQueued         int           // offline queue bound (default 1000); meter values beyond it are dropped
	Ramp              time.Duration // delay between starting two stations in Run (default 2ms: 500 connects/s)

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
	switch c.Mix {
	case "":
		c.Mix = MixClosed
	case MixClosed, MixRealistic, MixIdle:
	default:
		return c, fmt.Errorf("sim: mix %q: want closed, realistic or idle", c.Mix)
	}
	if c.MaxMessages < 0 {
		return c, errors.New("sim: max messages must not be negative")
	}
	if c.PerSourceAddr <= 0 {
		c.PerSourceAddr = portsPerAddr()
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

// TagOf is the idTag station i (from 0) charges with: Tag, or with several drivers
// Tag-0001, Tag-0002, … in turn (scripts/provision-sim.sh registers them).
func (c Config) TagOf(i int) string {
	if c.Drivers <= 1 {
		return c.Tag
	}
	return fmt.Sprintf("%s-%04d", c.Tag, i%c.Drivers+1)
}

// StationID is the identity of the i-th station (0-based) of a run: IDPrefix + 4 digits.
func (c Config) StationID(i int) string {
	if c.ID != "" {
		return c.ID
	}
	return fmt.Sprintf("%s%04d", c.IDPrefix, i+1)
}

// portsPerAddr is how many connections one local address can hold: the ephemeral port range
// less 10% (ports in TIME_WAIT, other programs).
func portsPerAddr() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
		lo, err1 := strconv.Atoi(f[0])
		hi, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && hi > lo {
			return (hi - lo + 1) * 9 / 10
		}
	}
	return 25_000
}

// sourceAddrs are the addresses a Load run dials from (nil: the system's choice).
func (c Config) sourceAddrs() []netip.Addr {
	if len(c.SourceAddrs) > 0 {
		return c.SourceAddrs
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() || !ip.IsLoopback() || c.Stations <= c.PerSourceAddr {
		return nil
	}
	need := (c.Stations + c.PerSourceAddr - 1) / c.PerSourceAddr
	out := make([]netip.Addr, 0, need)
	for k := 0; k < need; k++ { // 127.0.x.2 … 127.0.x.251: never .0, .1 or .255
		out = append(out, netip.AddrFrom4([4]byte{127, 0, byte(k / 250), byte(2 + k%250)}))
	}
	return out
}

// ParseSourceAddrs reads --source-addrs: "auto" or "" (see Config.SourceAddrs), a
// comma-separated list of addresses, or a prefix such as 127.1.0.0/24 (every address in it but
// the first and the last).
func ParseSourceAddrs(s string) ([]netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "auto" {
		return nil, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		p = p.Masked()
		var out []netip.Addr
		for a := p.Addr().Next(); p.Contains(a) && len(out) < 1<<16; a = a.Next() {
			if p.Contains(a.Next()) {
				out = append(out, a)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("sim: source addresses %q: no usable address", s)
		}
		return out, nil
	}
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("sim: source address %q: %v", f, err)
		}
		out = append(out, a)
	}
	return out, nil
}
