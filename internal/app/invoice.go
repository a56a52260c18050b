package app

// Periodic invoices and credit notes (rules in billing/invoice.go).
//
// A run issues, per purchaser account and calendar month (in the operator's time zone, UTC if
// none is set): an invoice listing the session CDRs created in the month, and a credit note
// listing the refunds posted to the account in the month. A CDR belongs to the month it was
// created in (the session was rated and charged then), not the month the station says the
// session ended in: a session reported late (offline station) then still lands in a month
// not yet invoiced, and every CDR is invoiced exactly once.
//
// Each document is issued in a transaction of its own, which draws the next number of its
// series from a store counter (tx.Next) and stores the document: if the insert fails (the same
// account, period and kind was issued meanwhile), the counter's increment rolls back with it,
// so numbers have no gaps. The counter row serialises concurrent issuers, so numbers follow
// commit order. Documents are never updated: a correction is a credit note.

import (
	"context"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"
	"weak"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store"
)

// InvoiceOptions are the operator's details printed on documents, and the time zone months
// are cut in.
type InvoiceOptions struct {
	TimeZone string // IANA zone; "" = UTC
	Issuer   string // the operator's name
	Address  string // one line
	VATID    string // the operator's VAT number
}

var invoiceOpts sync.Map // weak.Pointer[App] → InvoiceOptions

// SetInvoiceOptions sets the operator's details and time zone for invoices.
func (a *App) SetInvoiceOptions(o InvoiceOptions) error {
	if _, err := time.LoadLocation(o.TimeZone); err != nil {
		return errs.Field("time_zone", "unknown time zone %q", o.TimeZone)
	}
	wp := weak.Make(a)
	if _, loaded := invoiceOpts.Swap(wp, o); !loaded {
		runtime.AddCleanup(a, func(wp weak.Pointer[App]) { invoiceOpts.Delete(wp) }, wp)
	}
	return nil
}

// InvoiceOptions returns the options set with SetInvoiceOptions (the zero value otherwise).
func (a *App) InvoiceOptions() InvoiceOptions {
	if o, ok := invoiceOpts.Load(weak.Make(a)); ok {
		return o.(InvoiceOptions)
	}
	return InvoiceOptions{}
}

func (a *App) invoiceLocation() (*time.Location, string) {
	tz := a.InvoiceOptions().TimeZone
	if tz == "" {
		return time.UTC, "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC, "UTC"
	}
	return loc, tz
}

// InvoiceRun is what RunInvoices did.
type InvoiceRun struct {
	Period   string
	Accounts int               // accounts looked at
	Issued   []billing.Invoice // documents issued by this run
	Existing []billing.Invoice // documents of the period issued before (nothing new was issued)
}

// RunInvoices issues the invoices and credit notes of a period ("2026-11") for every purchaser
// account, or for one (admin). Running it again issues nothing new: a document per account,
// period and kind exists at most once. Accounts with nothing in the period get nothing.
func (a *App) RunInvoices(ctx context.Context, period, accountID string) (*InvoiceRun, error) {
	out, err := a.runInvoices(ctx, period, accountID)
	return out, errs.Wrap("invoice run", err)
}

func (a *App) runInvoices(ctx context.Context, period, accountID string) (*InvoiceRun, error) {
	if err := require(ctx, account.RoleAdmin); err != nil {
		return nil, err
	}
	p, err := billing.ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	run := &InvoiceRun{Period: p.String()}
	var accs []account.Account
	err = a.Store.View(ctx, func(tx store.Tx) error {
		if accountID != "" {
			acc, err := getAccount(ctx, tx, "account_id", accountID)
			if err != nil {
				return err
			}
			if acc.UserID == "" {
				return errs.Field("account_id", "%s is a system account: it gets no invoices", acc.ID)
			}
			accs = append(accs, *acc)
			return nil
		}
		q := store.Query{Limit: 500}
		for {
			page, next, err := tx.Accounts().List(ctx, q)
			if err != nil {
				return err
			}
			for _, acc := range page {
				if acc.UserID != "" {
					accs = append(accs, acc)
				}
			}
			if next == "" {
				return nil
			}
			q.Cursor = next
		}
	})
	if err != nil {
		return nil, err
	}
	for i := range accs {
		run.Accounts++
		for _, kind := range []string{billing.KindInvoice, billing.KindCreditNote} {
			inv, issued, err := a.issue(ctx, &accs[i], p, kind)
			if err != nil {
				return run, errs.Wrap(accs[i].ID, err)
			}
			switch {
			case inv == nil:
			case issued:
				run.Issued = append(run.Issued, *inv)
			default:
				run.Existing = append(run.Existing, *inv)
			}
		}
	}
	return run, nil
}

// issue issues one document of an account for a period, unless it exists (returned with
// issued=false) or there is nothing to put on it (nil).
func (a *App) issue(ctx context.Context, acc *account.Account, p billing.Period, kind string) (*billing.Invoice, bool, error) {
	var out *billing.Invoice
	issued := false
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		out, issued = nil, false
		if inv, err := tx.Invoices().Find(ctx, acc.ID, p.String(), kind); err == nil {
			out = inv
			return nil
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		inv, err := a.draft(ctx, tx, acc, p, kind)
		if err != nil || inv == nil {
			return err
		}
		// The number is drawn last, just before the insert, so the counter row is held briefly.
		seq, err := tx.Next(ctx, "invoice:"+inv.Series)
		if err != nil {
			return err
		}
		inv.Seq, inv.Number = seq, billing.FormatNumber(inv.Series, seq)
		if err := tx.Invoices().Issue(ctx, inv); err != nil {
			return err
		}
		out, issued = inv, true
		return a.record(ctx, tx, "issue", kind, inv.ID, nil, map[string]any{"number": inv.Number, "account_id": inv.AccountID,
			"period": inv.Period, "total_minor": inv.TotalMinor, "currency": inv.Currency})
	})
	if errs.Is(err, errs.Conflict) {
		// Another run issued it at the same moment; this transaction (and its number) rolled back.
		err = a.Store.View(ctx, func(tx store.Tx) (err error) {
			out, err = tx.Invoices().Find(ctx, acc.ID, p.String(), kind)
			return err
		})
		issued = false
	}
	return out, issued, err
}

// draft builds an unnumbered document, or nil when the account has nothing of that kind in
// the period.
func (a *App) draft(ctx context.Context, tx store.Tx, acc *account.Account, p billing.Period, kind string) (*billing.Invoice, error) {
	loc, tz := a.invoiceLocation()
	from, to := p.Bounds(loc)
	inv := &billing.Invoice{ID: ids.New("inv"), Kind: kind, Series: p.Series(kind), AccountID: acc.ID, Period: p.String(),
		TimeZone: tz, From: from, To: to, Currency: acc.Currency, Status: billing.InvoiceIssued, IssuedAt: a.now(),
		IssuedBy: ActorFrom(ctx).UserID, VAT: []billing.VATGroup{}}
	if kind == billing.KindCreditNote {
		inv.ID = ids.New("crn")
	}
	if acc.UserID != "" {
		if u, err := tx.Users().Get(ctx, acc.UserID); err == nil {
			inv.CustomerName, inv.CustomerMail = u.Name, u.Email
		}
	}
	var err error
	if kind == billing.KindCreditNote {
		if inv.Credits, err = a.creditLines(ctx, tx, acc, from, to); err != nil || len(inv.Credits) == 0 {
			return nil, err
		}
		return inv, billing.TotalCreditNote(inv)
	}
	if inv.Lines, err = a.invoiceLines(ctx, tx, acc, from, to); err != nil || len(inv.Lines) == 0 {
		return nil, err
	}
	return inv, billing.TotalInvoice(inv)
}

// invoiceLines are the lines of an account's CDRs created in [from, to), in session order.
func (a *App) invoiceLines(ctx context.Context, tx store.Tx, acc *account.Account, from, to time.Time) ([]billing.InvoiceLine, error) {
	var lines []billing.InvoiceLine
	q := store.Query{Filter: map[string]string{"account_id": acc.ID}, Limit: 500}
	for {
		recs, next, err := tx.CDRs().List(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range recs {
			rec := &recs[i]
			if rec.CreatedAt.Before(from) || !rec.CreatedAt.Before(to) || rec.Currency != acc.Currency {
				continue // another period, or a session not charged to this account (other currency)
			}
			l, err := lineOf(ctx, tx, rec)
			if err != nil {
				return nil, err
			}
			lines = append(lines, l)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	slices.SortStableFunc(lines, func(x, y billing.InvoiceLine) int { return x.Start.Compare(y.Start) })
	return lines, nil
}

// lineOf is the invoice line of a CDR, with VAT rates from the session's tariff version.
func lineOf(ctx context.Context, tx store.Tx, rec *billing.CDRRecord) (billing.InvoiceLine, error) {
	var t *billing.Tariff
	if rec.TariffID != "" {
		var err error
		if t, err = tariffVersion(ctx, tx, rec.TariffID, rec.TariffVersion); err != nil && !errs.Is(err, errs.NotFound) {
			return billing.InvoiceLine{}, err
		}
	}
	return billing.LineFromCDR(*rec, t)
}

// creditLines are the refunds posted to an account in [from, to), oldest first.
func (a *App) creditLines(ctx context.Context, tx store.Tx, acc *account.Account, from, to time.Time) ([]billing.CreditLine, error) {
	var out []billing.CreditLine
	q := store.Query{Filter: map[string]string{"kind": LedgerRefund, "account_id": acc.ID}, Limit: 500}
	for {
		lts, next, err := tx.Ledger().Transactions(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range lts {
			lt := &lts[i]
			gross := entryOf(lt, acc.ID)
			if lt.At.Before(from) || !lt.At.Before(to) || gross <= 0 {
				continue
			}
			c := billing.CreditLine{LedgerTxID: lt.ID, Ref: lt.Ref, Memo: lt.Memo, At: lt.At, GrossMinor: gross, Rate: billing.NoVAT}
			if lt.Ref != "" {
				// A refund about a session is taxed like the session's main part.
				if rec, err := tx.CDRs().GetBy(ctx, "session_id", lt.Ref); err == nil {
					l, err := lineOf(ctx, tx, rec)
					if err != nil {
						return nil, err
					}
					c.Rate = l.MainRate()
				} else if !errs.Is(err, errs.NotFound) {
					return nil, err
				}
			}
			out = append(out, c)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	slices.SortStableFunc(out, func(x, y billing.CreditLine) int { return x.At.Compare(y.At) })
	return out, nil
}

// Invoices lists issued documents (filters: account_id, period, kind, series, number).
func (a *App) Invoices(ctx context.Context, q store.Query) ([]billing.Invoice, string, error) {
	if p, ok := purchaser(ctx); ok { // a purchaser's own invoices only
		if f := q.Filter["account_id"]; f != "" && f != p.AccountID || p.AccountID == "" {
			return nil, "", nil
		}
		q.Filter = maps.Clone(q.Filter)
		if q.Filter == nil {
			q.Filter = map[string]string{}
		}
		q.Filter["account_id"] = p.AccountID
	} else if err := require(ctx, account.RoleViewer); err != nil {
		return nil, "", errs.Wrap("list invoices", err)
	}
	if p, ok := q.Filter["period"]; ok {
		pp, err := billing.ParsePeriod(p)
		if err != nil {
			return nil, "", errs.Wrap("list invoices", err)
		}
		q.Filter["period"] = pp.String()
	}
	var out []billing.Invoice
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, next, err = tx.Invoices().List(ctx, q); return })
	return out, next, errs.Wrap("list invoices", err)
}

// Invoice returns one issued document.
func (a *App) Invoice(ctx context.Context, id string) (*billing.Invoice, error) {
	if err := require(ctx, account.RoleViewer); err != nil && !IsPurchaser(ctx) {
		return nil, errs.Wrap("get invoice", err)
	}
	var out *billing.Invoice
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, err = tx.Invoices().Get(ctx, id); return })
	if err == nil {
		err = CheckOwn(ctx, "invoice", id, out) // a purchaser's own invoices only
	}
	if err != nil {
		return nil, errs.Wrap("get invoice", hideFromPurchaser(ctx, "invoice", id, err))
	}
	return out, nil
}
