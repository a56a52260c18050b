package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/gctune"
	"github.com/evcs/evcs/internal/store/opendb"
)

func newServeCmd() *cobra.Command {
	var cfg config.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run EVCS: OCPP server, billing, REST API and console on one listener",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.ApplyEnv(cmd.Flags(), os.Environ()); err != nil {
				return err
			}
			if err := cfg.Check(); err != nil {
				return err
			}
			// The collector's headroom is the process's, so serve sets it, not Main (tests
			// run many Mains in one process).
			headroom, _ := cfg.GCHeadroomBytes() // checked by Config.Check
			m := &Main{Cfg: cfg, Stderr: cmd.ErrOrStderr(), Stdout: cmd.OutOrStdout(),
				GC: gctune.Start(cmd.Context(), headroom)}
			return m.Run(cmd.Context())
		},
	}
	config.Bind(cmd.Flags(), &cfg)
	return cmd
}

func newMigrateCmd() *cobra.Command {
	var dsn string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the store's migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v, ok := os.LookupEnv("EVCS_DB"); ok && !cmd.Flags().Changed("db") {
				dsn = v
			}
			s, err := opendb.Open(cmd.Context(), dsn)
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "migrated %s store\n", s.Dialect())
			return nil
		},
	}
	cmd.Flags().StringVar(&dsn, "db", config.DefaultDB, "store: sqlite:PATH or postgres://…")
	return cmd
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and build information",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " " + s.Value
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "evcs %s%s %s %s/%s\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
