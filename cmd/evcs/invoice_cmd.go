package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store/opendb"
)

func init() { extraCommands = append(extraCommands, newInvoiceCmd) }

// newInvoiceCmd is `evcs invoice`: the periodic invoice run from the shell (cron, recovery).
func newInvoiceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "invoice", Short: "Invoices: issue a period's invoices and credit notes", Args: cobra.NoArgs}
	cmd.AddCommand(newInvoiceRunCmd())
	return cmd
}

func newInvoiceRunCmd() *cobra.Command {
	var dsn, period, accountID, tz string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Issue the invoices and credit notes of a month and print them",
		Long: "Issue the invoices and credit notes of a calendar month (in --time-zone, UTC by default) for\n" +
			"every purchaser account, or one. Running the same period again issues nothing new.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v, ok := os.LookupEnv("EVCS_DB"); ok && !cmd.Flags().Changed("db") {
				dsn = v
			}
			if v, ok := os.LookupEnv("EVCS_TIME_ZONE"); ok && !cmd.Flags().Changed("time-zone") {
				tz = v
			}
			if _, err := billing.ParsePeriod(period); err != nil {
				return fmt.Errorf("--period %q is not a month (YYYY-MM)", period)
			}
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
			if err := a.SetInvoiceOptions(app.InvoiceOptions{TimeZone: tz}); err != nil {
				return fmt.Errorf("--time-zone %q is not an IANA time zone", tz)
			}
			run, err := a.RunInvoices(app.WithActor(ctx, app.System), period, accountID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, inv := range run.Issued {
				fmt.Fprintf(out, "%s\t%s\t%s %s\n", inv.Number, inv.AccountID, money.FormatMinor(inv.TotalMinor, inv.Currency), inv.Currency)
			}
			fmt.Fprintf(out, "period %s: %d issued, %d already issued, %d accounts\n", run.Period, len(run.Issued), len(run.Existing), run.Accounts)
			return nil
		},
	}
	cmd.Flags().StringVar(&dsn, "db", config.DefaultDB, "store: sqlite:PATH or postgres://… (or EVCS_DB)")
	cmd.Flags().StringVar(&period, "period", "", "the month to invoice, YYYY-MM (required)")
	cmd.Flags().StringVar(&accountID, "account", "", "only this account")
	cmd.Flags().StringVar(&tz, "time-zone", "", "the operator's IANA time zone months are cut in (or EVCS_TIME_ZONE; default UTC)")
	return cmd
}
