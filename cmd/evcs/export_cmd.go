package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/bulk"
	"github.com/evcs/evcs/internal/config"
)

func init() { extraCommands = append(extraCommands, newExportCmd) }

// newExportCmd is `evcs export`: one kind of master data as the file `evcs import` reads.
func newExportCmd() *cobra.Command {
	var dsn, kind, format, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export sites, stations, purchasers, tokens or vehicles as CSV or XLSX",
		Long: "Export every record of one kind, in id order, in the format `evcs import` reads: an export\n" +
			"imported into an empty store and exported again gives the same file. Secrets (station and login\n" +
			"passwords) are never exported; balances are not master data (see `evcs backup`).\n\n" +
			"Kinds and columns:\n" + kindsHelp(),
		Example: "  evcs export --kind purchasers --out purchasers.csv\n  evcs export --kind sites --format xlsx --out sites.xlsx",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn = dbFromEnv(cmd, dsn)
			if _, err := bulk.Lookup(kind); err != nil {
				return fmt.Errorf("--kind %q: use one of %s", kind, strings.Join(bulk.Names(), ", "))
			}
			if format == "" {
				format = bulk.CSV
				if out != "" && out != "-" {
					if f := bulk.FormatOf(out, nil); f == bulk.XLSX {
						format = f
					}
				}
			}
			if format != bulk.CSV && format != bulk.XLSX {
				return fmt.Errorf("--format %q: use csv or xlsx", format)
			}
			bar := newBulkBar(cmd.ErrOrStderr(), kind)
			var b bytes.Buffer
			err := withBulkApp(cmd, dsn, func(ctx context.Context, a *app.App) error {
				return bulk.Export(ctx, a, kind, format, &b, bar.rows)
			})
			bar.done()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := io.Copy(cmd.OutOrStdout(), &b)
				return err
			}
			return writeFileAtomic(out, b.Bytes())
		},
	}
	cmd.Flags().StringVar(&dsn, "db", config.DefaultDB, "store: sqlite:PATH or postgres://… (or EVCS_DB)")
	cmd.Flags().StringVar(&kind, "kind", "", "what to export: "+strings.Join(bulk.Names(), ", ")+" (required)")
	cmd.Flags().StringVar(&format, "format", "", "csv or xlsx (default: from --out's name, else csv)")
	cmd.Flags().StringVar(&out, "out", "-", "file to write (- = standard output)")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(bulk.Names(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{bulk.CSV, bulk.XLSX}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place, so a
// failed export never leaves half a file where a good one was.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
