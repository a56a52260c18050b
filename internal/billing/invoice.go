package billing

// Invoices and credit notes: pure rules. The app gathers a period's CDRs and refunds; the
// functions here turn them into lines, VAT groups and totals.
//
// # Rules
//
//   - One line per session CDR of the period. A line's amounts are the CDR's own rounded
//     amounts (total_fixed_cost, total_energy_cost, total_time_cost, total_parking_cost,
//     total_reservation_cost, excl. VAT): nothing is re-rated or re-rounded.
//   - When total_cost.excl_vat differs from the sum of those parts (a tariff min_price or
//     max_price moved it, or OCPI's rounding of total_cost from the unrounded sum), the
//     difference is an "adjustment" part of the line, at the rate of the line's largest part,
//     so a line's excl. VAT is always what the CDR's total_cost says.
//   - The VAT rate of a part comes from the session's tariff version: the vat of the tariff's
//     price components of that dimension (FLAT → fixed, ENERGY, TIME, PARKING_TIME; reservation
//     → TIME and FLAT). When the components of a dimension disagree, the rate is the one the
//     CDR implies, (incl_vat / excl_vat − 1) × 100, half-up to 2 decimals.
//   - A component without vat is "no VAT applicable" in OCPI (different from 0 %). Such amounts
//     go to a VAT group of their own, shown as "no VAT", with VAT 0 and incl. = excl.; they are
//     never merged into a 0 % group. A dimension whose components mix a rate and "no VAT" and
//     whose CDR total has no incl_vat cannot be split, and goes to "no VAT" as a whole.
//   - VAT is computed once per rate, on the rate's total excl. VAT, half-up to the currency's
//     minor unit: VAT_r = round(Σ excl_r × r / 100). Per-line VAT is shown for information and
//     is the same rule applied to the line alone; the invoice's VAT is the sum over rates, so
//     it can differ from the sum of the lines' VAT by a minor unit or so (tested).
//   - The invoice total is Σ excl + Σ VAT_r. What the ledger charged (Σ CDR totals) is kept
//     beside it (Charged): the two differ only by such rounding.
//   - Credit notes list refunds (gross amounts: money given back). A refund about a session
//     takes the rate of that session's largest part; any other refund is "no VAT" (a refund of
//     prepaid balance is not a supply). Per rate: excl_r = round(gross_r × 100 / (100 + r)),
//     VAT_r = gross_r − excl_r, so the gross refunded is exact. A credit note's amounts are
//     negative.
//   - Numbers: "<series>-<6-digit sequence>", one gapless sequence per series; series
//     "INV-<year>" for invoices and "CN-<year>" for credit notes, the year of the period.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
)

// Invoice kinds.
const (
	KindInvoice    = "invoice"
	KindCreditNote = "credit_note"
)

// InvoiceIssued is the one status of an invoice: issued documents never change.
const InvoiceIssued = "issued"

// Parts of a line.
const (
	PartFixed       = "fixed"
	PartEnergy      = "energy"
	PartTime        = "time"
	PartParking     = "parking"
	PartReservation = "reservation"
	PartAdjustment  = "adjustment"
)

// NoVAT is the rate of amounts without VAT ("no VAT applicable").
const NoVAT = ""

// Period is a calendar month.
type Period struct {
	Year  int
	Month time.Month
}

// ParsePeriod reads "2026-11".
func ParsePeriod(s string) (Period, error) {
	t, err := time.Parse("2006-01", strings.TrimSpace(s))
	if err != nil || len(strings.TrimSpace(s)) != 7 {
		return Period{}, errs.Field("period", "%q is not a month (YYYY-MM)", s)
	}
	return Period{Year: t.Year(), Month: t.Month()}, nil
}

// String is "2026-11".
func (p Period) String() string { return fmt.Sprintf("%04d-%02d", p.Year, int(p.Month)) }

// Bounds are the period's first instant and the next period's, in loc, as UTC.
func (p Period) Bounds(loc *time.Location) (from, to time.Time) {
	from = time.Date(p.Year, p.Month, 1, 0, 0, 0, 0, loc)
	return from.UTC(), from.AddDate(0, 1, 0).UTC()
}

// Series is the numbering series of a kind of document for the period's year.
func (p Period) Series(kind string) string {
	if kind == KindCreditNote {
		return fmt.Sprintf("CN-%04d", p.Year)
	}
	return fmt.Sprintf("INV-%04d", p.Year)
}

// FormatNumber is a document number: "INV-2026-000001".
func FormatNumber(series string, seq int64) string { return fmt.Sprintf("%s-%06d", series, seq) }

// LinePart is one priced dimension of a line, excl. VAT, with its VAT rate in percent
// ("21", "9.5"; NoVAT for none).
type LinePart struct {
	Kind      string `json:"kind"`
	ExclMinor int64  `json:"excl_minor"`
	Rate      string `json:"vat_rate"`
}

// InvoiceLine is one session.
type InvoiceLine struct {
	SessionID    string     `json:"session_id"`
	CDRID        string     `json:"cdr_id"`
	StationID    string     `json:"station_id"`
	Start        time.Time  `json:"start"`
	End          time.Time  `json:"end"`
	EnergyWh     int64      `json:"energy_wh"`
	TimeHours    string     `json:"time_hours,omitempty"`
	ParkingHours string     `json:"parking_hours,omitempty"`
	Parts        []LinePart `json:"parts"`
	ExclMinor    int64      `json:"excl_minor"`
	Rate         string     `json:"vat_rate" doc:"the line's VAT rate; \"mixed\" when its parts have several"`
	VATMinor     int64      `json:"vat_minor" doc:"for information: the invoice's VAT is computed per rate"`
	InclMinor    int64      `json:"incl_minor"`
	ChargedMinor int64      `json:"charged_minor" doc:"what the ledger charged for the session"`
}

// PartMinor is the amount of one part kind of the line.
func (l InvoiceLine) PartMinor(kind string) int64 {
	var s int64
	for _, p := range l.Parts {
		if p.Kind == kind {
			s += p.ExclMinor
		}
	}
	return s
}

// CreditLine is one refund on a credit note: Gross is what was given back (positive).
type CreditLine struct {
	LedgerTxID string    `json:"ledger_tx_id"`
	Ref        string    `json:"ref,omitempty"`
	Memo       string    `json:"memo,omitempty"`
	At         time.Time `json:"at"`
	GrossMinor int64     `json:"gross_minor"`
	Rate       string    `json:"vat_rate"`
}

// VATGroup is the total of one VAT rate.
type VATGroup struct {
	Rate      string `json:"vat_rate"`
	ExclMinor int64  `json:"excl_minor"`
	VATMinor  int64  `json:"vat_minor"`
	InclMinor int64  `json:"incl_minor"`
}

// Invoice is an issued invoice or credit note. It is stored once and never changed.
type Invoice struct {
	ID           string        `json:"id"`
	Kind         string        `json:"kind"`
	Series       string        `json:"series"`
	Seq          int64         `json:"seq"`
	Number       string        `json:"number"`
	AccountID    string        `json:"account_id"`
	CustomerName string        `json:"customer_name,omitempty"`
	CustomerMail string        `json:"customer_email,omitempty"`
	Period       string        `json:"period"`
	TimeZone     string        `json:"time_zone"`
	From         time.Time     `json:"from"`
	To           time.Time     `json:"to"`
	Currency     string        `json:"currency"`
	Lines        []InvoiceLine `json:"lines,omitempty"`
	Credits      []CreditLine  `json:"credits,omitempty"`
	VAT          []VATGroup    `json:"vat"`
	ExclMinor    int64         `json:"excl_minor"`
	VATMinor     int64         `json:"vat_minor"`
	TotalMinor   int64         `json:"total_minor"`
	ChargedMinor int64         `json:"charged_minor" doc:"what the ledger moved: CDR totals, or refunds (negative)"`
	Status       string        `json:"status"`
	IssuedAt     time.Time     `json:"issued_at"`
	IssuedBy     string        `json:"issued_by,omitempty"`
}

// ---- VAT rates ----

// rateOf normalises a VAT percentage: "21.00" → "21".
func rateOf(d decimal.Decimal) string { return d.Trim(0).String() }

// dimensionRates are the VAT rates a tariff gives each dimension: one rate, NoVAT, or mixed.
type dimensionRate struct {
	rate  string
	mixed bool
	seen  bool
}

func tariffRates(t *Tariff) map[DimensionType]dimensionRate {
	out := map[DimensionType]dimensionRate{}
	if t == nil {
		return out
	}
	for _, el := range t.Elements {
		for _, pc := range el.PriceComponents {
			r := NoVAT
			if pc.Vat != nil {
				r = rateOf(pc.Vat.Decimal())
			}
			cur := out[pc.Type]
			switch {
			case !cur.seen:
				cur = dimensionRate{rate: r, seen: true}
			case cur.rate != r:
				cur.mixed = true
			}
			out[pc.Type] = cur
		}
	}
	return out
}

// impliedRate is (incl / excl − 1) × 100, half-up to 2 decimals.
func impliedRate(excl, incl decimal.Decimal) (string, bool) {
	if excl.IsZero() {
		return "", false
	}
	q, err := incl.Quo(excl)
	if err != nil {
		return "", false
	}
	one, _ := decimal.New(1, 0)
	hundred, _ := decimal.New(100, 0)
	q, err = q.Sub(one)
	if err == nil {
		q, err = q.Mul(hundred)
	}
	if err != nil {
		return "", false
	}
	return rateOf(money.RoundHalfUp(q, 2)), true
}

// ---- reading a rated CDR ----

type cdrAmount struct {
	Excl json.Number  `json:"excl_vat"`
	Incl *json.Number `json:"incl_vat"`
}

type cdrCosts struct {
	Start            string       `json:"start_date_time"`
	End              string       `json:"end_date_time"`
	TotalTime        *json.Number `json:"total_time"`
	TotalParkingTime *json.Number `json:"total_parking_time"`
	TotalCost        *cdrAmount   `json:"total_cost"`
	Fixed            *cdrAmount   `json:"total_fixed_cost"`
	Energy           *cdrAmount   `json:"total_energy_cost"`
	Time             *cdrAmount   `json:"total_time_cost"`
	Parking          *cdrAmount   `json:"total_parking_cost"`
	Reservation      *cdrAmount   `json:"total_reservation_cost"`
}

func parseAmount(n json.Number, cur string) (money.Money, decimal.Decimal, error) {
	d, err := decimal.Parse(n.String())
	if err != nil {
		return money.Money{}, d, errs.E(errs.Invalid, "CDR amount %q: %v", n, err)
	}
	m, err := money.FromDecimal(d, cur)
	return m, d, err
}

// LineFromCDR builds the invoice line of a session CDR rated by tariff t (nil: the tariff is
// unknown; every amount is then "no VAT"). See the package rules above.
func LineFromCDR(rec CDRRecord, t *Tariff) (InvoiceLine, error) {
	line := InvoiceLine{SessionID: rec.SessionID, CDRID: rec.ID, StationID: rec.StationID, EnergyWh: rec.EnergyWh, ChargedMinor: rec.TotalMinor}
	var c cdrCosts
	if len(rec.CDR) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(rec.CDR)))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			return line, errs.Wrap("read CDR "+rec.ID, err)
		}
	}
	line.Start, _ = time.Parse(time.RFC3339, c.Start)
	line.End, _ = time.Parse(time.RFC3339, c.End)
	if c.TotalTime != nil {
		line.TimeHours = c.TotalTime.String()
	}
	if c.TotalParkingTime != nil {
		line.ParkingHours = c.TotalParkingTime.String()
	}
	rates := tariffRates(t)
	resolve := func(a *cdrAmount, excl decimal.Decimal, dims ...DimensionType) string {
		var r dimensionRate
		for _, d := range dims {
			dr, ok := rates[d]
			if !ok {
				continue
			}
			switch {
			case !r.seen:
				r = dr
			case r.rate != dr.rate || dr.mixed:
				r.mixed = true
			}
		}
		if !r.seen {
			return NoVAT
		}
		if !r.mixed {
			return r.rate
		}
		if a.Incl != nil {
			if incl, err := decimal.Parse(a.Incl.String()); err == nil {
				if rate, ok := impliedRate(excl, incl); ok {
					return rate
				}
			}
		}
		return NoVAT
	}
	var sum int64
	for _, p := range []struct {
		kind string
		a    *cdrAmount
		dims []DimensionType
	}{
		{PartFixed, c.Fixed, []DimensionType{DimFlat}}, {PartEnergy, c.Energy, []DimensionType{DimEnergy}},
		{PartTime, c.Time, []DimensionType{DimTime}}, {PartParking, c.Parking, []DimensionType{DimParkingTime}},
		{PartReservation, c.Reservation, []DimensionType{DimTime, DimFlat}},
	} {
		if p.a == nil {
			continue
		}
		m, d, err := parseAmount(p.a.Excl, rec.Currency)
		if err != nil {
			return line, err
		}
		if m.Minor == 0 {
			continue
		}
		line.Parts = append(line.Parts, LinePart{Kind: p.kind, ExclMinor: m.Minor, Rate: resolve(p.a, d, p.dims...)})
		sum += m.Minor
	}
	total := sum
	if c.TotalCost != nil {
		m, _, err := parseAmount(c.TotalCost.Excl, rec.Currency)
		if err != nil {
			return line, err
		}
		total = m.Minor
	}
	if adj := total - sum; adj != 0 {
		line.Parts = append(line.Parts, LinePart{Kind: PartAdjustment, ExclMinor: adj, Rate: mainRate(line.Parts, rates)})
	}
	line.ExclMinor = total
	groups, err := vatGroups(line.Parts, rec.Currency)
	if err != nil {
		return line, err
	}
	line.Rate = lineRate(groups)
	for _, g := range groups {
		line.VATMinor += g.VATMinor
	}
	line.InclMinor = line.ExclMinor + line.VATMinor
	return line, nil
}

// mainRate is the rate of the largest part; with no parts, the tariff's rate when all its
// components share one, else NoVAT.
func mainRate(parts []LinePart, rates map[DimensionType]dimensionRate) string {
	best := -1
	for i, p := range parts {
		if best < 0 || abs64(p.ExclMinor) > abs64(parts[best].ExclMinor) {
			best = i
		}
	}
	if best >= 0 {
		return parts[best].Rate
	}
	r, first := NoVAT, true
	for _, dr := range rates {
		if dr.mixed || (!first && dr.rate != r) {
			return NoVAT
		}
		r, first = dr.rate, false
	}
	return r
}

// MainRate is the rate of a line's largest part (what a refund of the session is taxed at).
func (l InvoiceLine) MainRate() string { return mainRate(l.Parts, nil) }

func lineRate(groups []VATGroup) string {
	switch len(groups) {
	case 0:
		return NoVAT
	case 1:
		return groups[0].Rate
	}
	return "mixed"
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// vatOn is round_half_up(excl × rate / 100) in minor units.
func vatOn(exclMinor int64, rate, cur string) (int64, error) {
	if rate == NoVAT || exclMinor == 0 {
		return 0, nil
	}
	r, err := decimal.Parse(rate)
	if err != nil {
		return 0, errs.E(errs.Invalid, "VAT rate %q: %v", rate, err)
	}
	base := money.New(exclMinor, cur).Decimal()
	v, err := base.Mul(r)
	if err == nil {
		hundred, _ := decimal.New(100, 0)
		v, err = v.Quo(hundred)
	}
	if err != nil {
		return 0, errs.E(errs.Invalid, "VAT of %d at %s %%: %v", exclMinor, rate, err)
	}
	m, err := money.FromDecimal(v, cur)
	return m.Minor, err
}

// vatGroups totals parts by rate (sorted: "no VAT" first, then by rate) and computes each
// rate's VAT once on its total.
func vatGroups(parts []LinePart, cur string) ([]VATGroup, error) {
	byRate := map[string]int64{}
	for _, p := range parts {
		byRate[p.Rate] += p.ExclMinor
	}
	out := make([]VATGroup, 0, len(byRate))
	for rate, excl := range byRate {
		v, err := vatOn(excl, rate, cur)
		if err != nil {
			return nil, err
		}
		out = append(out, VATGroup{Rate: rate, ExclMinor: excl, VATMinor: v, InclMinor: excl + v})
	}
	sortGroups(out)
	return out, nil
}

func sortGroups(gs []VATGroup) {
	slices.SortFunc(gs, func(a, b VATGroup) int {
		if a.Rate == b.Rate {
			return 0
		}
		if a.Rate == NoVAT {
			return -1
		}
		if b.Rate == NoVAT {
			return 1
		}
		ra, _ := strconv.ParseFloat(a.Rate, 64) // ordering only
		rb, _ := strconv.ParseFloat(b.Rate, 64)
		if ra < rb {
			return -1
		}
		return 1
	})
}

// TotalInvoice fills an invoice's VAT groups and totals from its lines (VAT once per rate).
func TotalInvoice(inv *Invoice) error {
	var parts []LinePart
	inv.ChargedMinor = 0
	for _, l := range inv.Lines {
		parts = append(parts, l.Parts...)
		inv.ChargedMinor += l.ChargedMinor
	}
	groups, err := vatGroups(parts, inv.Currency)
	if err != nil {
		return err
	}
	inv.VAT = groups
	inv.ExclMinor, inv.VATMinor = 0, 0
	for _, g := range groups {
		inv.ExclMinor += g.ExclMinor
		inv.VATMinor += g.VATMinor
	}
	inv.TotalMinor = inv.ExclMinor + inv.VATMinor
	return nil
}

// exclFromGross is round_half_up(gross × 100 / (100 + rate)).
func exclFromGross(gross int64, rate, cur string) (int64, error) {
	if rate == NoVAT {
		return gross, nil
	}
	r, err := decimal.Parse(rate)
	if err != nil {
		return 0, errs.E(errs.Invalid, "VAT rate %q: %v", rate, err)
	}
	hundred, _ := decimal.New(100, 0)
	div, err := hundred.Add(r)
	if err != nil {
		return 0, err
	}
	v, err := money.New(gross, cur).Decimal().Mul(hundred)
	if err == nil {
		v, err = v.Quo(div)
	}
	if err != nil {
		return 0, errs.E(errs.Invalid, "net of %d at %s %%: %v", gross, rate, err)
	}
	m, err := money.FromDecimal(v, cur)
	return m.Minor, err
}

// TotalCreditNote fills a credit note's VAT groups and totals from its refunds: per rate, the
// gross refunded is split into excl. and VAT once. All amounts come out negative.
func TotalCreditNote(inv *Invoice) error {
	byRate := map[string]int64{}
	inv.ChargedMinor = 0
	for _, c := range inv.Credits {
		byRate[c.Rate] += c.GrossMinor
		inv.ChargedMinor -= c.GrossMinor
	}
	inv.VAT = inv.VAT[:0]
	inv.ExclMinor, inv.VATMinor, inv.TotalMinor = 0, 0, 0
	for rate, gross := range byRate {
		excl, err := exclFromGross(gross, rate, inv.Currency)
		if err != nil {
			return err
		}
		g := VATGroup{Rate: rate, ExclMinor: -excl, VATMinor: -(gross - excl), InclMinor: -gross}
		inv.VAT = append(inv.VAT, g)
		inv.ExclMinor += g.ExclMinor
		inv.VATMinor += g.VATMinor
		inv.TotalMinor += g.InclMinor
	}
	sortGroups(inv.VAT)
	return nil
}

// RateLabel shows a rate: "21 %" or "no VAT".
func RateLabel(rate string) string {
	switch rate {
	case NoVAT:
		return "no VAT"
	case "mixed":
		return "mixed"
	}
	return rate + " %"
}
