// Package config is EVCS's configuration: every setting is a flag, and every flag can also be
// given as an EVCS_* environment variable (the flag wins). Strict: an unknown EVCS_* variable or
// a malformed value stops start-up with one line that says which.
package config

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/gctune"
	"github.com/govalues/decimal"
	"github.com/spf13/pflag"
)

// Config is what `evcs serve` runs with.
type Config struct {
	Listen      string
	DB          string
	Demo        bool
	DemoReset   bool
	AdminToken  string
	LogFormat   string
	LogLevel    string
	TLSCert     string
	TLSKey      string
	ClientCA    string
	CallTimeout time.Duration
	Heartbeat   time.Duration
	MinBalance  string
	HoldAmount  string
	AlarmHook   string
	OCPPRate    string
	NodeID      string
	NodeLease   time.Duration
	GCHeadroom  string
}

// DefaultGCHeadroom is the least garbage the Go collector lets the heap grow by (gctune): it
// took 6–8 % of serve's CPU per message off under the load tool, for 0.6–1.5 KB more per idle
// station at 10,000 (README, "Production" and "Idle connections").
const DefaultGCHeadroom = "64MiB"

// DefaultDB is the embedded default store.
const DefaultDB = "sqlite:./evcs-data/evcs.db"

// Bind declares the serve flags on fs.
func Bind(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address to listen on (HTTP API, OCPP WebSocket, console)")
	fs.StringVar(&c.DB, "db", DefaultDB, "store: sqlite:PATH or postgres://user@host:port/db")
	fs.BoolVar(&c.Demo, "demo", false, "seed a demo operator into ./evcs-data/demo.db and run simulated stations")
	fs.BoolVar(&c.DemoReset, "demo-reset", false, "with --demo: start the demo database over")
	fs.StringVar(&c.AdminToken, "admin-token", "", "an admin API token that serve makes sure exists (at least 16 characters)")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "log format: auto (text on a terminal, else JSON), text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (OCPP security profiles 2 and 3)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file")
	fs.StringVar(&c.ClientCA, "client-ca", "", "CA file for station client certificates (security profile 3)")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 30*time.Second, "how long a call to a station waits for its answer")
	fs.DurationVar(&c.Heartbeat, "heartbeat-interval", 300*time.Second, "heartbeat interval given to stations at boot")
	fs.StringVar(&c.MinBalance, "min-balance", "0", "prepaid accounts at or below this balance are refused at Authorize (NoCredit)")
	fs.StringVar(&c.HoldAmount, "hold-amount", "20", "funds held from a prepaid account when a session starts (released at the end)")
	fs.StringVar(&c.OCPPRate, "ocpp-rate-limit", "100/1000", "messages per second per station, and the burst, as RATE/BURST, or off; more is answered GenericError (RateLimited)")
	fs.StringVar(&c.NodeID, "node-id", "", "this node's identity in a cluster (default: hostname-pid)")
	fs.DurationVar(&c.NodeLease, "node-lease", 10*time.Second, "a node silent this long is dead: its stations read offline and its jobs move to another node")
	fs.StringVar(&c.GCHeadroom, "gc-headroom", DefaultGCHeadroom, "garbage the Go collector lets the heap grow by before it runs, at least (B, KiB, MiB or GiB; off: GOGC alone); a set GOGC turns it off")
	fs.StringVar(&c.AlarmHook, "alarm-webhook", "", "URL every alarm change is POSTed to as JSON (raised, acknowledged, cleared)")
}

// EnvName is the environment variable of a flag.
func EnvName(flag string) string {
	return "EVCS_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyEnv sets every flag not given on the command line from its EVCS_* variable. environ is
// os.Environ(). Variables named EVCS_TEST_* belong to the test suite and are ignored.
func ApplyEnv(fs *pflag.FlagSet, environ []string) error {
	known := map[string]*pflag.Flag{}
	fs.VisitAll(func(f *pflag.Flag) { known[EnvName(f.Name)] = f })
	var unknown []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "EVCS_") || strings.HasPrefix(k, "EVCS_TEST_") {
			continue
		}
		f, ok := known[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		if f.Changed {
			continue
		}
		if err := fs.Set(f.Name, v); err != nil {
			return fmt.Errorf("%s=%q: %v", k, v, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown environment variable %s (see `evcs serve --help` for the EVCS_* settings)", strings.Join(unknown, ", "))
	}
	return nil
}

// Check validates values that flags' types cannot.
func (c *Config) Check() error {
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return fmt.Errorf("--log-format %q: use auto, text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return fmt.Errorf("--admin-token / EVCS_ADMIN_TOKEN must be at least 16 characters")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.ClientCA != "" && c.TLSCert == "" {
		return fmt.Errorf("--client-ca needs --tls-cert and --tls-key")
	}
	if c.CallTimeout <= 0 {
		return fmt.Errorf("--call-timeout must be positive")
	}
	if c.Heartbeat < time.Second {
		return fmt.Errorf("--heartbeat-interval must be at least 1s")
	}
	if _, err := decimal.Parse(c.MinBalance); err != nil {
		return fmt.Errorf("--min-balance %q is not a decimal amount", c.MinBalance)
	}
	if d, err := decimal.Parse(c.HoldAmount); err != nil || d.Sign() < 0 {
		return fmt.Errorf("--hold-amount %q is not a non-negative decimal amount", c.HoldAmount)
	}
	if c.AlarmHook != "" {
		if u, err := url.Parse(c.AlarmHook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--alarm-webhook %q: an http(s) URL is needed", c.AlarmHook)
		}
	}
	if _, err := c.GCHeadroomBytes(); err != nil {
		return err
	}
	if c.NodeLease != 0 && c.NodeLease < time.Second {
		return fmt.Errorf("--node-lease must be at least 1s")
	}
	if _, _, err := c.OCPPRateLimit(); err != nil {
		return err
	}
	if c.Listen == "" {
		return fmt.Errorf("--listen is empty")
	}
	return nil
}

// GCHeadroomBytes parses --gc-headroom (0: off).
func (c *Config) GCHeadroomBytes() (uint64, error) {
	n, err := gctune.ParseSize(c.GCHeadroom)
	if err != nil {
		return 0, fmt.Errorf("--gc-headroom: %w", err)
	}
	return n, nil
}

// OCPPRateLimit parses --ocpp-rate-limit: RATE/BURST, or "off" (rate -1).
func (c *Config) OCPPRateLimit() (rate float64, burst int, err error) {
	if c.OCPPRate == "" || c.OCPPRate == "off" {
		if c.OCPPRate == "off" {
			return -1, 0, nil
		}
		return 0, 0, nil
	}
	r, b, ok := strings.Cut(c.OCPPRate, "/")
	rf, err1 := strconv.ParseFloat(r, 64)
	bi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rf <= 0 || bi < 1 {
		return 0, 0, fmt.Errorf("--ocpp-rate-limit %q: use RATE/BURST (e.g. 100/1000) or off", c.OCPPRate)
	}
	return rf, bi, nil
}
