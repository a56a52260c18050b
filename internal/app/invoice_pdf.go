package app

// PDF rendering of invoices, credit notes and session receipts with fpdf's core fonts
// (Helvetica in cp1252: nothing to download or embed). Documents are written uncompressed and
// dated with their issue time, so the same document renders to the same bytes and its text
// (the number) can be found in the file.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

// InvoicePDF renders an issued invoice or credit note.
func (a *App) InvoicePDF(ctx context.Context, id string) ([]byte, *billing.Invoice, error) {
	inv, err := a.Invoice(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	b, err := RenderInvoicePDF(inv, a.InvoiceOptions())
	return b, inv, errs.Wrap("invoice PDF", err)
}

// ReceiptPDF renders the receipt of an ended session.
func (a *App) ReceiptPDF(ctx context.Context, sessionID string) ([]byte, error) {
	if err := require(ctx, account.RoleViewer); err != nil && !IsPurchaser(ctx) { // a purchaser: own sessions (Receipt checks)
		return nil, errs.Wrap("receipt PDF", err)
	}
	r, err := a.Receipt(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	b, err := RenderReceiptPDF(r, a.InvoiceOptions())
	return b, errs.Wrap("receipt PDF", err)
}

type pdfDoc struct {
	f  *fpdf.Fpdf
	tr func(string) string
}

func newPDF(title string, at time.Time) *pdfDoc {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCompression(false)
	f.SetCreationDate(at)
	f.SetModificationDate(at)
	f.SetTitle(title, true)
	f.SetProducer("EVCS", true)
	f.SetMargins(15, 15, 15)
	f.SetAutoPageBreak(true, 15)
	f.AddPage()
	return &pdfDoc{f: f, tr: f.UnicodeTranslatorFromDescriptor("")}
}

func (d *pdfDoc) text(size float64, style, s string) {
	d.f.SetFont("Helvetica", style, size)
	d.f.CellFormat(0, size*0.5, d.tr(s), "", 1, "L", false, 0, "")
}

// row writes cells of the given widths; aligns per cell ("L"/"R").
func (d *pdfDoc) row(style string, widths []float64, aligns string, cells ...string) {
	d.f.SetFont("Helvetica", style, 8)
	for i, c := range cells {
		al := "L"
		if i < len(aligns) {
			al = string(aligns[i])
		}
		border := ""
		if style == "B" {
			border = "B"
		}
		d.f.CellFormat(widths[i], 5, d.tr(c), border, 0, al, false, 0, "")
	}
	d.f.Ln(5)
}

func (d *pdfDoc) bytes() ([]byte, error) {
	var b bytes.Buffer
	if err := d.f.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (d *pdfDoc) issuer(o InvoiceOptions) {
	if o.Issuer != "" {
		d.text(10, "B", o.Issuer)
	}
	if o.Address != "" {
		d.text(9, "", o.Address)
	}
	if o.VATID != "" {
		d.text(9, "", "VAT number: "+o.VATID)
	}
	d.f.Ln(3)
}

func amt(minor int64, cur string) string { return money.FormatMinor(minor, cur) }

// RenderInvoicePDF renders an invoice or credit note.
func RenderInvoicePDF(inv *billing.Invoice, o InvoiceOptions) ([]byte, error) {
	title := "Invoice"
	if inv.Kind == billing.KindCreditNote {
		title = "Credit note"
	}
	d := newPDF(title+" "+inv.Number, inv.IssuedAt)
	d.issuer(o)
	d.text(16, "B", title+" "+inv.Number)
	d.f.Ln(2)
	loc, err := time.LoadLocation(inv.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	for _, kv := range [][2]string{
		{"Customer", strings.TrimSpace(inv.CustomerName + "  " + inv.CustomerMail)},
		{"Account", inv.AccountID},
		{"Period", fmt.Sprintf("%s (%s to %s, %s)", inv.Period, inv.From.In(loc).Format("2006-01-02"), inv.To.In(loc).AddDate(0, 0, -1).Format("2006-01-02"), inv.TimeZone)},
		{"Issued", inv.IssuedAt.In(loc).Format("2006-01-02 15:04 MST")},
		{"Currency", inv.Currency},
	} {
		d.text(9, "", kv[0]+": "+kv[1])
	}
	d.f.Ln(4)
	cur := inv.Currency
	if inv.Kind == billing.KindCreditNote {
		w := []float64{28, 50, 62, 18, 22}
		d.row("B", w, "LLLRR", "Date", "Reference", "Reason", "VAT rate", "Refunded")
		for _, c := range inv.Credits {
			d.row("", w, "LLLRR", c.At.In(loc).Format("2006-01-02"), c.Ref, clip(c.Memo, 40), billing.RateLabel(c.Rate), "-"+amt(c.GrossMinor, cur))
		}
	} else {
		w := []float64{17, 22, 13, 11, 15, 13, 14, 13, 17, 14, 15, 16}
		d.row("B", w, "LLRRRRRRRRRR", "Date", "Station", "kWh", "Time h", "Energy", "Time", "Parking", "Fees", "Excl. VAT", "VAT rate", "VAT", "Incl. VAT")
		for _, l := range inv.Lines {
			fees := l.PartMinor(billing.PartFixed) + l.PartMinor(billing.PartReservation) + l.PartMinor(billing.PartAdjustment)
			d.row("", w, "LLRRRRRRRRRR", l.Start.In(loc).Format("2006-01-02"), clip(l.StationID, 14), kwh(l.EnergyWh), l.TimeHours,
				amt(l.PartMinor(billing.PartEnergy), cur), amt(l.PartMinor(billing.PartTime), cur), amt(l.PartMinor(billing.PartParking), cur),
				amt(fees, cur), amt(l.ExclMinor, cur), billing.RateLabel(l.Rate), amt(l.VATMinor, cur), amt(l.InclMinor, cur))
		}
	}
	d.f.Ln(4)
	d.text(10, "B", "VAT by rate")
	w := []float64{30, 30, 30, 30}
	d.row("B", w, "LRRR", "Rate", "Excl. VAT", "VAT", "Incl. VAT")
	for _, g := range inv.VAT {
		d.row("", w, "LRRR", billing.RateLabel(g.Rate), amt(g.ExclMinor, cur), amt(g.VATMinor, cur), amt(g.InclMinor, cur))
	}
	d.row("B", w, "LRRR", "Total "+cur, amt(inv.ExclMinor, cur), amt(inv.VATMinor, cur), amt(inv.TotalMinor, cur))
	d.f.Ln(4)
	if inv.Kind == billing.KindCreditNote {
		d.text(9, "", "Refunded to the prepaid account: "+amt(-inv.ChargedMinor, cur)+" "+cur)
	} else {
		d.text(9, "", "Charged to the prepaid account: "+amt(inv.ChargedMinor, cur)+" "+cur+" (already paid).")
		d.text(8, "", "VAT is computed once per rate on the rate's total excl. VAT, rounded half-up; line VAT is for information.")
	}
	return d.bytes()
}

// RenderReceiptPDF renders a session receipt.
func RenderReceiptPDF(r *Receipt, o InvoiceOptions) ([]byte, error) {
	s := r.Session
	d := newPDF("Receipt "+s.ID, r.IssuedAt)
	d.issuer(o)
	d.text(16, "B", "Receipt")
	d.f.Ln(2)
	stopped := ""
	if s.StoppedAt != nil {
		stopped = s.StoppedAt.UTC().Format(time.RFC3339)
	}
	method := PaymentMethod(s.AccountID)
	if method == "" {
		method = "none"
	}
	for _, kv := range [][2]string{
		{"Session", s.ID}, {"Station", s.StationID}, {"Id token", s.IdToken}, {"Started", s.StartedAt.UTC().Format(time.RFC3339)},
		{"Stopped", stopped}, {"Energy", kwh(s.EnergyWh) + " kWh"}, {"Tariff", fmt.Sprintf("%s v%d", s.TariffID, s.TariffVersion)},
		{"Payment method", method},
	} {
		d.text(9, "", kv[0]+": "+kv[1])
	}
	d.f.Ln(4)
	cur := r.Total.Currency
	w := []float64{50, 25, 15, 30, 30}
	d.row("B", w, "LRLRR", "Item", "Quantity", "Unit", "Excl. VAT", "Incl. VAT")
	for _, l := range r.Lines {
		incl := "n/a"
		if l.InclKnown {
			incl = l.InclVAT.String()
		}
		d.row("", w, "LRLRR", l.Description, l.Quantity, l.Unit, l.ExclVAT.String(), incl)
	}
	d.row("B", w, "LRLRR", "Total "+cur, "", "", r.TotalEx.String(), r.Total.String())
	d.f.Ln(4)
	switch method {
	case PaymentTerminal:
		d.text(9, "", "Paid at the payment terminal: "+r.Total.String()+" "+cur)
	case PaymentPrepaid:
		d.text(9, "", "Charged to prepaid account "+s.AccountID+": "+r.Total.String()+" "+cur)
		if r.Balance != nil {
			d.text(9, "", "Balance now: "+r.Balance.String()+" "+cur)
		}
	}
	return d.bytes()
}

// kwh formats Wh as kWh with three decimals.
func kwh(wh int64) string {
	sign := ""
	if wh < 0 {
		sign, wh = "-", -wh
	}
	return fmt.Sprintf("%s%d.%03d", sign, wh/1000, wh%1000)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
