package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // tariff time zones must resolve even where the host has no zoneinfo

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
)

// newTariffCmd is `evcs tariff`, with `evcs tariff price` (DESIGN.md §3, CLI contract).
func newTariffCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tariff",
		Short: "Work with OCPI 2.2.1 tariffs",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newTariffPriceCmd())
	return cmd
}

func newTariffPriceCmd() *cobra.Command {
	var tariffFile, cdrFile, tz string
	cmd := &cobra.Command{
		Use:   "price --tariff FILE --cdr FILE [--time-zone TZ]",
		Short: "Price a CDR with a tariff; prints the CDR with its OCPI cost fields",
		Long: "Reads an OCPI 2.2.1 Tariff and CDR (JSON) and prints the CDR with total_cost,\n" +
			"total_fixed_cost, total_energy(_cost), total_time(_cost), total_parking_time/cost\n" +
			"and total_reservation_cost. Time restrictions are evaluated in --time-zone, else\n" +
			"the CDR's location.time_zone, else UTC.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := runTariffPrice(tariffFile, cdrFile, tz)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&tariffFile, "tariff", "", "OCPI 2.2.1 Tariff JSON file (required)")
	cmd.Flags().StringVar(&cdrFile, "cdr", "", "OCPI 2.2.1 CDR JSON file (required)")
	cmd.Flags().StringVar(&tz, "time-zone", "", "IANA time zone of the location, e.g. Europe/Amsterdam")
	_ = cmd.MarkFlagRequired("tariff")
	_ = cmd.MarkFlagRequired("cdr")
	return cmd
}

func runTariffPrice(tariffFile, cdrFile, tz string) ([]byte, error) {
	tariffJSON, err := readInput(tariffFile)
	if err != nil {
		return nil, err
	}
	cdrJSON, err := readInput(cdrFile)
	if err != nil {
		return nil, err
	}
	tariff, err := billing.DecodeTariff(tariffJSON)
	if err != nil {
		return nil, oneLine("tariff "+tariffFile, err)
	}
	cdr, err := billing.DecodeCDR(cdrJSON)
	if err != nil {
		return nil, oneLine("cdr "+cdrFile, err)
	}
	if tz == "" {
		tz = cdr.TimeZone()
	}
	loc := time.UTC
	if tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, fmt.Errorf("unknown time zone %q", tz)
		}
	}
	priced, err := billing.Price(cdr, tariff, loc)
	if err != nil {
		return nil, oneLine("price", err)
	}
	out, err := billing.MergeCDR(cdr, priced)
	if err != nil {
		return nil, oneLine("price", err)
	}
	return out, nil
}

func readInput(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("read %s: %v", name, pe.Err)
		}
		return nil, fmt.Errorf("read %s: %v", name, err)
	}
	return b, nil
}

// oneLine makes the error a single line with its context: "tariff t.json: elements[0]...".
func oneLine(context string, err error) error {
	msg := err.Error()
	var e *errs.Error
	if errors.As(err, &e) {
		msg = errs.Message(err)
		if e.Kind == errs.Internal {
			msg = err.Error()
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	return fmt.Errorf("%s: %s", context, msg)
}
