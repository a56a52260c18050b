package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store/opendb"
)

func init() { extraCommands = append(extraCommands, newReportCmd) }

// newReportCmd is `evcs report NAME`: a report straight from the store, for scripts and cron.
func newReportCmd() *cobra.Command {
	var p app.ReportParams
	var dsn, format, out string
	cmd := &cobra.Command{
		Use:   "report NAME",
		Short: "Print a report (" + strings.Join(report.Names, ", ") + ") as CSV, JSON or XLSX",
		Long: "Print a report over [--from, --to) grouped by a period (hour, day, week, month) in --tz and/or a\n" +
			"dimension (site, station, tariff, purchaser, vehicle), e.g.\n" +
			"  evcs report energy --from 2026-03-01 --to 2026-04-01 --group-by day --format csv\n" +
			"A progress bar goes to stderr when it is a terminal.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.Name = args[0]
			p.Limit = -1 // an export: every purchaser or vehicle, not a page
			if !slices.Contains(report.Names, p.Name) {
				return fmt.Errorf("no report %q (reports: %s)", p.Name, strings.Join(report.Names, ", "))
			}
			if !slices.Contains(report.Formats, format) {
				return fmt.Errorf("--format %q: one of json, csv, xlsx", format)
			}
			if v, ok := os.LookupEnv("EVCS_DB"); ok && !cmd.Flags().Changed("db") {
				dsn = v
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			bar := newProgress(cmd.ErrOrStderr(), p.Name)
			bar.status("querying")
			s, err := opendb.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer s.Close()
			a := app.New(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			defer a.Close()
			t, err := a.Report(app.WithActor(ctx, app.System), p)
			if err != nil {
				bar.done()
				return flagError(err)
			}
			w := cmd.OutOrStdout()
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			err = t.Write(w, format, bar.rows)
			bar.done()
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dsn, "db", config.DefaultDB, "store: sqlite:PATH or postgres://… (or EVCS_DB)")
	f.StringVar(&p.From, "from", "", "start: RFC 3339 or YYYY-MM-DD (local midnight in --tz); default 30 days before --to")
	f.StringVar(&p.To, "to", "", "end (exclusive): RFC 3339 or YYYY-MM-DD; default the end of today")
	f.StringVar(&p.GroupBy, "group-by", "", "hour, day, week or month, and/or site, station, tariff, purchaser, vehicle (e.g. day,station)")
	f.StringVar(&p.TZ, "tz", "", "IANA time zone periods are cut in (default UTC)")
	f.StringVar(&p.SiteID, "site", "", "only this site")
	f.StringVar(&p.StationID, "station", "", "only this station")
	f.StringVar(&format, "format", "csv", "csv, json or xlsx")
	f.StringVar(&out, "out", "", "write to this file instead of stdout")
	return cmd
}

// flagError names the flag of a parameter error (group_by → --group-by).
func flagError(err error) error {
	msg := err.Error()
	for _, n := range []string{"group_by", "from", "to", "tz"} {
		if strings.Contains(msg, n+":") || strings.HasPrefix(msg, n+" ") {
			return fmt.Errorf("--%s: %s", strings.ReplaceAll(n, "_", "-"), msg)
		}
	}
	return err
}

// progress draws a one-line bar on a terminal, and nothing otherwise (pipes, files, CI logs).
type progress struct {
	w    io.Writer
	name string
	on   bool
}

func newProgress(w io.Writer, name string) *progress {
	p := &progress{w: w, name: name}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) status(s string) {
	if p.on {
		fmt.Fprintf(p.w, "\r\033[K%s: %s…", p.name, s)
	}
}

func (p *progress) rows(done, total int) {
	if !p.on || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %d/%d rows", p.name, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
