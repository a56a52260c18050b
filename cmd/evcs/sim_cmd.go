package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof" // --pprof
	"time"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

func init() { extraCommands = append(extraCommands, newSimCmd) }

// newSimCmd is `evcs sim`: simulated charging stations against a CSMS (this one or any other).
func newSimCmd() *cobra.Command {
	var (
		cfg         sim.Config
		protocol    string
		connectRate float64
		sources     string
		pprofAddr   string
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run simulated OCPP charging stations against a CSMS",
		Long: `Connects --stations simulated charging stations to --url (each at URL/<id>), boots them and
lets them charge, until --duration has passed, --max-messages were answered or Ctrl-C; then
prints one summary line: stations, messages answered, rate, round trip p50/p90/p99, errors,
stations booted (connected) and, with --load, the most connections open at once (peak_conns).

With --load the stations are lean load-generator stations (about 11 KB each in this process, so
100,000 fit) that run --mix:
  closed     Heartbeat, Authorize, start, 3 meter values, stop, repeat, as fast as the CSMS answers
  realistic  open loop on each station's clock: sessions with a meter value every 10-60 s
             (--meter-interval/6 to --meter-interval), heartbeats at the interval the CSMS gave
  idle       boot, connector statuses, then heartbeats only
Stations connect at --connect-rate per second. Against 127.0.0.0/8 with more stations than one
local address has ports for (about 25,000), they dial from 127.0.0.2, 127.0.0.3, ... in turn
(--source-addrs).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, ok := ocppj.ParseSubprotocol(protocol)
			if !ok {
				return fmt.Errorf("sim: --protocol %q: want ocpp1.6, ocpp2.0.1 or ocpp2.1", protocol)
			}
			cfg.Protocol = v
			if cfg.Stations < 1 {
				return fmt.Errorf("sim: --stations %d: want at least 1", cfg.Stations)
			}
			if cfg.Kind != "ac" && cfg.Kind != "dc" {
				return fmt.Errorf("sim: --kind %q: want ac or dc", cfg.Kind)
			}
			if cfg.Duration < 0 {
				return fmt.Errorf("sim: --duration %s: must not be negative", cfg.Duration)
			}
			if cfg.MeterInterval < 0 {
				return fmt.Errorf("sim: --meter-interval %s: must not be negative", cfg.MeterInterval)
			}
			if connectRate <= 0 {
				return fmt.Errorf("sim: --connect-rate %v: want a positive number of stations per second", connectRate)
			}
			cfg.Ramp = time.Duration(float64(time.Second) / connectRate)
			if cfg.Ramp <= 0 {
				cfg.Ramp = time.Nanosecond
			}
			addrs, err := sim.ParseSourceAddrs(sources)
			if err != nil {
				return err
			}
			cfg.SourceAddrs = addrs
			if err := needFiles(cfg.Stations, fmt.Sprintf("sim: %d stations", cfg.Stations)); err != nil {
				return err
			}
			if pprofAddr != "" { // the load generator's own memory and CPU, e.g. bytes per station
				go func() { _ = http.ListenAndServe(pprofAddr, nil) }()
			}
			rep, err := sim.Run(cmd.Context(), cfg)
			if rep.Stations > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), rep.String())
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "ws://127.0.0.1:8080/ocpp", "CSMS endpoint without the station identity")
	f.IntVar(&cfg.Stations, "stations", 1, "number of stations")
	f.StringVar(&protocol, "protocol", "ocpp2.0.1", "ocpp1.6, ocpp2.0.1 or ocpp2.1")
	f.StringVar(&cfg.IDPrefix, "id-prefix", "SIM-", "station identities are the prefix plus 0001, 0002, …")
	f.StringVar(&cfg.ID, "id", "", "the exact identity of one station (with --stations 1), e.g. a station registered as CP-1")
	f.StringVar(&cfg.Tag, "tag", "SIM-TAG", "idTag / idToken the stations charge with")
	f.IntVar(&cfg.Drivers, "drivers", 1, "drivers charging in turn: station i uses TAG-0001 … TAG-<N> (scripts/provision-sim.sh registers them)")
	f.StringVar(&cfg.Password, "password", "", "HTTP Basic password of every station (security profile 1)")
	f.DurationVar(&cfg.Duration, "duration", 0, "how long to run (0 = until Ctrl-C)")
	f.StringVar(&cfg.Kind, "kind", "ac", "ac (7–22 kW) or dc (50–350 kW)")
	f.BoolVar(&cfg.Load, "load", false, "lean load-generator stations running --mix")
	f.StringVar(&cfg.Mix, "mix", sim.MixClosed, "with --load: closed, realistic or idle")
	f.Int64Var(&cfg.MaxMessages, "max-messages", 0, "stop once this many calls were answered (0 = no bound)")
	f.Float64Var(&connectRate, "connect-rate", 500, "stations connected per second")
	f.StringVar(&sources, "source-addrs", "auto", "with --load: local addresses to dial from, in turn: auto, a list (127.0.0.2,127.0.0.3) or a prefix (127.1.0.0/24)")
	f.IntVar(&cfg.PerSourceAddr, "per-source-addr", 0, "connections per source address with --source-addrs auto (0 = the ephemeral port range less 10%)")
	f.StringVar(&pprofAddr, "pprof", "", "serve the load generator's own /debug/pprof on this address (e.g. 127.0.0.1:6061)")
	f.BoolVar(&cfg.Sessions, "sessions", true, "charge by themselves (ignored with --load)")
	f.DurationVar(&cfg.MeterInterval, "meter-interval", 60*time.Second, "time between meter values of a session")
	f.IntVar(&cfg.EVSEs, "evses", 2, "EVSEs (one connector each) per station")
	f.Int64Var(&cfg.Seed, "seed", 0, "make ratings, vehicles and timings reproducible (0 = random)")
	return cmd
}
