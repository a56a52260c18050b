package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/bulk"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/store/opendb"
)

func init() { extraCommands = append(extraCommands, newImportCmd) }

// newImportCmd is `evcs import`: master data from a CSV or XLSX file, all-or-nothing.
func newImportCmd() *cobra.Command {
	var dsn, kind, format string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import sites, stations, purchasers, tokens or vehicles from a CSV or XLSX file",
		Long: "Import master data from a CSV or XLSX file with a header row (the columns `evcs export` writes).\n\n" +
			"Every row is checked first and the file is applied in one transaction: if any row is bad nothing\n" +
			"changes, and every bad row is listed as FILE:LINE: column: problem. Rows keep the ids they carry, so\n" +
			"an export imported into an empty store reproduces it; import the kinds in the order sites,\n" +
			"stations, purchasers, tokens, vehicles. FILE - reads standard input (give --kind and --format).\n\n" +
			"Kinds and columns:\n" + kindsHelp(),
		Example: "  evcs import --db sqlite:./evcs-data/evcs.db --kind purchasers purchasers.csv\n" +
			"  evcs import --kind sites --dry-run sites.xlsx",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dsn = dbFromEnv(cmd, dsn)
			name := args[0]
			if kind == "" {
				kind = kindFromName(name)
			}
			if _, err := bulk.Lookup(kind); err != nil {
				return fmt.Errorf("--kind %q: use one of %s (or name the file after its kind, e.g. sites.csv)", kind, strings.Join(bulk.Names(), ", "))
			}
			var r io.Reader = cmd.InOrStdin()
			if name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			if format == "" {
				format = bulk.FormatOf(name, nil)
			}
			if format != bulk.CSV && format != bulk.XLSX {
				return fmt.Errorf("--format %q: use csv or xlsx (or a file named .csv or .xlsx)", format)
			}
			bar := newBulkBar(cmd.ErrOrStderr(), kind)
			start := time.Now()
			var res app.ImportResult
			err := withBulkApp(cmd, dsn, func(ctx context.Context, a *app.App) (err error) {
				res, err = bulk.Import(ctx, a, kind, format, r, app.ImportOptions{DryRun: dryRun, Progress: bar.stage})
				return err
			})
			bar.done()
			var ie *app.ImportError
			if errors.As(err, &ie) {
				w := cmd.ErrOrStderr()
				for _, e := range ie.Errors {
					if e.Field != "" {
						fmt.Fprintf(w, "%s:%d: %s: %s\n", name, e.Line, e.Field, e.Message)
					} else {
						fmt.Fprintf(w, "%s:%d: %s\n", name, e.Line, e.Message)
					}
				}
				return fmt.Errorf("%s: %d bad row(s); nothing was imported", name, len(ie.Errors))
			}
			if err != nil {
				return err
			}
			took := time.Since(start).Round(time.Millisecond)
			if dryRun {
				fmt.Fprintf(cmd.OutOrStdout(), "checked %d %s from %s in %s: all good (dry run, nothing stored)\n", res.Rows, kind, name, took)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "imported %d %s from %s in %s\n", res.Created, kind, name, took)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dsn, "db", config.DefaultDB, "store: sqlite:PATH or postgres://… (or EVCS_DB)")
	cmd.Flags().StringVar(&kind, "kind", "", "what the file holds: "+strings.Join(bulk.Names(), ", ")+" (default: from the file name)")
	cmd.Flags().StringVar(&format, "format", "", "csv or xlsx (default: from the file name)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check every row and store nothing")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(bulk.Names(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{bulk.CSV, bulk.XLSX}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// kindsHelp lists each kind's columns for --help (required ones marked *).
func kindsHelp() string {
	var b strings.Builder
	for _, k := range bulk.Kinds() {
		var cols []string
		for _, c := range k.Columns() {
			for _, r := range k.Required() {
				if r == c {
					c += "*"
				}
			}
			cols = append(cols, c)
		}
		for _, c := range k.WriteOnly() {
			cols = append(cols, c+" (import only)")
		}
		fmt.Fprintf(&b, "  %-11s %s\n", k.Name(), strings.Join(cols, ", "))
	}
	return b.String()
}

// kindFromName guesses a file's kind from its name: sites.csv, 2026-purchasers.xlsx.
func kindFromName(name string) string {
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)))
	for _, k := range bulk.Names() {
		if base == k || strings.HasSuffix(base, "-"+k) || strings.HasSuffix(base, "_"+k) || strings.HasPrefix(base, k+"-") || strings.HasPrefix(base, k+"_") {
			return k
		}
	}
	return ""
}

// dbFromEnv applies EVCS_DB unless --db was given.
func dbFromEnv(cmd *cobra.Command, dsn string) string {
	if v, ok := os.LookupEnv("EVCS_DB"); ok && !cmd.Flags().Changed("db") {
		return v
	}
	return dsn
}

// withBulkApp opens (and migrates) the store and runs fn with the use cases over it, as the
// System actor: whoever runs the binary against the database is its operator.
func withBulkApp(cmd *cobra.Command, dsn string, fn func(ctx context.Context, a *app.App) error) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := opendb.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	a := app.New(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Close()
	return fn(app.WithActor(ctx, app.System), a)
}

// bulkBar is a progress bar on stderr, drawn only when stderr is a terminal (so logs and
// pipes get only the final line).
type bulkBar struct {
	w    io.Writer
	name string
	on   bool
}

func newBulkBar(w io.Writer, name string) *bulkBar {
	b := &bulkBar{w: w, name: name}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.on = true
		}
	}
	return b
}

func (b *bulkBar) stage(stage string, done, total int) {
	if !b.on || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	fmt.Fprintf(b.w, "\r\033[K%s %-5s [%s%s] %d/%d", b.name, stage, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
}

func (b *bulkBar) rows(done, total int) { b.stage("write", done, total) }

func (b *bulkBar) done() {
	if b.on {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
