package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store/opendb"
)

func init() { extraCommands = append(extraCommands, newAccountCmd) }

// newAccountCmd is `evcs account`: prepaid accounts from the shell (a counter without the
// console, scripts, recovery). It works on the store directly, as the System actor.
func newAccountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Prepaid accounts: top up, show the balance", Args: cobra.NoArgs}
	cmd.AddCommand(newAccountTopUpCmd(), newAccountBalanceCmd())
	return cmd
}

// accountFlags are the flags both subcommands share.
type accountFlags struct{ dsn, account string }

func (f *accountFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dsn, "db", config.DefaultDB, "store: sqlite:PATH or postgres://… (or EVCS_DB)")
	cmd.Flags().StringVar(&f.account, "account", "", "account id (required)")
}

// withApp opens the store like `evcs migrate` does and runs fn with the use cases over it.
func (f *accountFlags) withApp(cmd *cobra.Command, fn func(ctx context.Context, a *app.App) error) error {
	if v, ok := os.LookupEnv("EVCS_DB"); ok && !cmd.Flags().Changed("db") {
		f.dsn = v
	}
	if f.account == "" {
		return fmt.Errorf("--account is required")
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := opendb.Open(ctx, f.dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	a := app.New(s, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Close()
	return fn(app.WithActor(ctx, app.System), a)
}

func newAccountTopUpCmd() *cobra.Command {
	var f accountFlags
	var in app.TopUpInput
	var key string
	cmd := &cobra.Command{
		Use:   "topup",
		Short: "Put money into a prepaid account and print the new balance",
		Long: "Put money into a prepaid account and print the new balance.\n\n" +
			"Each top-up needs an idempotency key: running the command again with the same key moves\n" +
			"nothing and prints the first result. Without --idempotency-key a fresh key is generated and\n" +
			"printed; pass it back to retry safely when you do not know whether the first run went through.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Amount == "" {
				return fmt.Errorf("--amount is required (a decimal in the account's currency, e.g. 50.00)")
			}
			out := cmd.OutOrStdout()
			if key == "" {
				key = ids.New("cli")
				fmt.Fprintf(out, "idempotency key: %s\n", key)
			}
			return f.withApp(cmd, func(ctx context.Context, a *app.App) error {
				t, err := a.TopUp(ctx, f.account, in, key)
				if err != nil {
					return cliError(err)
				}
				note := ""
				if t.Replayed {
					note = " (already done with this key: nothing moved)"
				}
				fmt.Fprintf(out, "top-up %s: %s %s by %s%s\n", t.ID, t.Amount, t.Amount.Currency, t.Method, note)
				fmt.Fprintf(out, "balance: %s %s\n", t.Balance, t.Balance.Currency)
				return nil
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&in.Amount, "amount", "", "amount, a decimal in the account's currency (required)")
	cmd.Flags().StringVar(&in.Currency, "currency", "", "currency (default: the account's)")
	cmd.Flags().StringVar(&in.Method, "method", app.MethodCounter, "counter, card_terminal, bank_transfer or voucher")
	cmd.Flags().StringVar(&in.Reference, "reference", "", "receipt, terminal or transfer reference")
	cmd.Flags().StringVar(&key, "idempotency-key", "", "makes a retry safe; generated and printed when omitted")
	return cmd
}

func newAccountBalanceCmd() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "balance",
		Short: "Print an account's balance (the sum of its ledger entries)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withApp(cmd, func(ctx context.Context, a *app.App) error {
				v, err := a.GetAccount(ctx, f.account)
				if errs.Is(err, errs.NotFound) {
					return fmt.Errorf("account %q does not exist", f.account)
				}
				if err != nil {
					return cliError(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "balance: %s %s\n", v.Balance, v.Balance.Currency)
				return nil
			})
		},
	}
	f.bind(cmd)
	return cmd
}

// cliError is an app error as one line for a person at a terminal: the message and the field,
// without the chain of operation names.
func cliError(err error) error {
	if errs.KindOf(err) == errs.Internal {
		return err
	}
	msg := errs.Message(err)
	if f := errs.FieldOf(err); f != "" {
		msg = "--" + flagOf(f) + ": " + msg[len(f)+2:]
	}
	return fmt.Errorf("%s", msg)
}

// flagOf names the flag an app field comes from.
func flagOf(field string) string {
	switch field {
	case "account_id":
		return "account"
	case "idempotency_key":
		return "idempotency-key"
	}
	return field
}
