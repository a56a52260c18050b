package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/modbus"
)

// `evcs sim modbus` joins `evcs sim` (sim_cmd.go registers it; its init runs first, files
// being initialised in name order).
func init() {
	for i, mk := range extraCommands {
		extraCommands[i] = func() *cobra.Command {
			c := mk()
			if c.Name() == "sim" {
				c.AddCommand(newSimModbusCmd())
			}
			return c
		}
	}
}

// newSimModbusCmd is `evcs sim modbus`: a simulated site meter or active filter on Modbus TCP.
func newSimModbusCmd() *cobra.Command {
	var listen, kind string
	var unit uint8
	cmd := &cobra.Command{
		Use:   "modbus",
		Short: "Run a simulated Modbus TCP site meter or active filter",
		Long: "Serves the EVCS register map (see internal/modbus) on --listen with plausible, slowly varying\n" +
			"values until Ctrl-C. Register it as a device with that modbus_address to have EVCS poll it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind != "meter" && kind != "active_filter" {
				return fmt.Errorf("sim modbus: --kind %q: want meter or active_filter", kind)
			}
			s := modbus.NewSim(kind == "active_filter")
			s.Unit = unit
			if err := s.Start(listen); err != nil {
				return err
			}
			defer s.Stop() //nolint:errcheck // nothing to do about it on the way out
			fmt.Fprintf(cmd.OutOrStdout(), "simulated Modbus %s listening on %s\n", kind, s.Addr())
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:1502", "host:port to serve Modbus TCP on (port 0: any free port)")
	f.StringVar(&kind, "kind", "meter", "meter or active_filter")
	f.Uint8Var(&unit, "unit", 0, "the unit id to answer (0: any)")
	return cmd
}
