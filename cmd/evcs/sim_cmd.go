package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

func init() { extraCommands = append(extraCommands, newSimCmd) }

// newSimCmd is `evcs sim`: simulated charging stations against a CSMS (this one or any other).
func newSimCmd() *cobra.Command {
	var (
		cfg      sim.Config
		protocol string
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run simulated OCPP charging stations against a CSMS",
		Long: "Connects --stations simulated charging stations to --url (each at URL/<id>), boots them and\n" +
			"lets them charge (or, with --load, run a closed loop as fast as the CSMS answers) until\n" +
			"--duration has passed or Ctrl-C; then prints one summary line.",
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
	f.StringVar(&cfg.Password, "password", "", "HTTP Basic password of every station (security profile 1)")
	f.DurationVar(&cfg.Duration, "duration", 0, "how long to run (0 = until Ctrl-C)")
	f.StringVar(&cfg.Kind, "kind", "ac", "ac (7–22 kW) or dc (50–350 kW)")
	f.BoolVar(&cfg.Load, "load", false, "closed loop per station as fast as the CSMS answers")
	f.BoolVar(&cfg.Sessions, "sessions", true, "charge by themselves (ignored with --load)")
	f.DurationVar(&cfg.MeterInterval, "meter-interval", 60*time.Second, "time between meter values of a session")
	f.IntVar(&cfg.EVSEs, "evses", 2, "EVSEs (one connector each) per station")
	f.Int64Var(&cfg.Seed, "seed", 0, "make ratings, vehicles and timings reproducible (0 = random)")
	return cmd
}
