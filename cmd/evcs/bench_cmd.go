package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/gctune"
	"github.com/evcs/evcs/internal/ocpp/echo"
)

func init() { extraCommands = append(extraCommands, newBenchCmd) }

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Reference servers for speed figures"}
	var listen, gcHeadroom string
	echoCmd := &cobra.Command{
		Use:   "echo",
		Short: "A bare OCPP server with canned replies and no storage: the ceiling EVCS's figures are a ratio to",
		Long: `evcs bench echo accepts stations on /ocpp/{id} (OCPP 1.6, 2.0.1 and 2.1), decodes every frame
and answers each CALL at once with a canned, schema-valid reply, storing nothing. Run the same
evcs sim --load against it and against evcs serve to get EVCS's throughput and latency as a ratio
to what this machine and the load generator reach.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			headroom, err := gctune.ParseSize(gcHeadroom)
			if err != nil {
				return fmt.Errorf("--gc-headroom: %w", err)
			}
			gc := gctune.Start(cmd.Context(), headroom)
			fmt.Fprintf(cmd.OutOrStdout(), "echo OCPP server on ws://%s/ocpp (gc headroom: %s)\n", listen, gc)
			return echo.ListenAndServe(cmd.Context(), listen)
		},
	}
	echoCmd.Flags().StringVar(&listen, "listen", "127.0.0.1:18081", "address to listen on")
	// The same collector headroom as serve's, so that the ratio to echo measures EVCS's work,
	// not a difference of runtime settings.
	echoCmd.Flags().StringVar(&gcHeadroom, "gc-headroom", config.DefaultGCHeadroom, "as serve's --gc-headroom")
	cmd.AddCommand(echoCmd)
	return cmd
}
