package billing

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// invTariff builds a tariff with one element holding the given components (vat "" = none).
func invTariff(comps ...[2]string) *Tariff {
	t := &Tariff{ID: "T", Currency: "EUR"}
	for _, c := range comps {
		pc := PriceComponent{Type: DimensionType(c[0]), Price: MustNumber("0.10"), StepSize: 1}
		if c[1] != "" {
			v := MustNumber(c[1])
			pc.Vat = &v
		}
		t.Elements = append(t.Elements, TariffElement{PriceComponents: []PriceComponent{pc}})
	}
	return t
}

// invCDR builds a rated CDR record whose cost fields are given as "excl" or "excl/incl".
func invCDR(id string, total string, parts map[string]string) CDRRecord {
	m := map[string]any{"start_date_time": "2026-11-03T10:00:00Z", "end_date_time": "2026-11-03T11:00:00Z", "total_time": json.Number("1")}
	amount := func(s string) map[string]any {
		excl, incl, _ := strings.Cut(s, "/")
		a := map[string]any{"excl_vat": json.Number(excl)}
		if incl != "" {
			a["incl_vat"] = json.Number(incl)
		}
		return a
	}
	for k, v := range parts {
		m[k] = amount(v)
	}
	m["total_cost"] = amount(total)
	b, _ := json.Marshal(m)
	return CDRRecord{ID: "cdr_" + id, SessionID: "ses_" + id, StationID: "CP-1", Currency: "EUR", CDR: b}
}

func TestInvoiceVATByRate(t *testing.T) {
	mixed := invTariff([2]string{"FLAT", ""}, [2]string{"ENERGY", "21"}, [2]string{"PARKING_TIME", "9"})
	energy19 := invTariff([2]string{"ENERGY", "19"})
	energy21 := invTariff([2]string{"ENERGY", "21.00"})
	twoEnergyRates := invTariff([2]string{"ENERGY", "21"}, [2]string{"ENERGY", "9"})
	minPrice := invTariff([2]string{"ENERGY", "21"})
	type in struct {
		rec CDRRecord
		t   *Tariff
	}
	tests := []struct {
		name  string
		lines []in
		// per line: excl, VAT (informative), rate
		lineExcl, lineVAT []int64
		lineRate          []string
		groups            []VATGroup
		excl, vat, total  int64
	}{
		{
			// Hand derivation:
			//   session a: start fee 0.50 (no VAT), energy 10.00 @ 21 %, parking 2.00 @ 9 %
			//   session b: energy 5.55 @ 21 %
			//   no VAT: 0.50,  VAT 0
			//   9 %:    2.00 × 0.09 = 0.18
			//   21 %:  15.55 × 0.21 = 3.2655 → 3.27 (half-up)
			//   excl 18.05, VAT 3.45, total 21.50
			// Lines (for information): a: 2.10 + 0.18 = 2.28 on 12.50 → 14.78; b: 5.55 × 0.21 =
			// 1.1655 → 1.17 → 6.72.
			name: "three rates, a component without VAT",
			lines: []in{
				{invCDR("a", "12.50", map[string]string{"total_fixed_cost": "0.50", "total_energy_cost": "10.00", "total_parking_cost": "2.00"}), mixed},
				{invCDR("b", "5.55/6.72", map[string]string{"total_energy_cost": "5.55/6.72"}), energy21},
			},
			lineExcl: []int64{1250, 555}, lineVAT: []int64{228, 117}, lineRate: []string{"mixed", "21"},
			groups: []VATGroup{{NoVAT, 50, 0, 50}, {"9", 200, 18, 218}, {"21", 1555, 327, 1882}},
			excl:   1805, vat: 345, total: 2150,
		},
		{
			// Rounding once per rate matters: two lines of 0.13 at 19 %.
			//   per line: 0.13 × 0.19 = 0.0247 → 0.02, so the lines say 0.04 together
			//   per rate: 0.26 × 0.19 = 0.0494 → 0.05: the invoice's VAT is 0.05
			name: "VAT once per rate, not per line",
			lines: []in{
				{invCDR("c", "0.13/0.15", map[string]string{"total_energy_cost": "0.13/0.15"}), energy19},
				{invCDR("d", "0.13/0.15", map[string]string{"total_energy_cost": "0.13/0.15"}), energy19},
			},
			lineExcl: []int64{13, 13}, lineVAT: []int64{2, 2}, lineRate: []string{"19", "19"},
			groups: []VATGroup{{"19", 26, 5, 31}},
			excl:   26, vat: 5, total: 31,
		},
		{
			// Half-up, not half-to-even: 0.50 × 0.21 = 0.105 → 0.11 (banker's rounding: 0.10).
			name:     "half-up at the half",
			lines:    []in{{invCDR("e", "0.50/0.61", map[string]string{"total_energy_cost": "0.50/0.61"}), energy21}},
			lineExcl: []int64{50}, lineVAT: []int64{11}, lineRate: []string{"21"},
			groups: []VATGroup{{"21", 50, 11, 61}},
			excl:   50, vat: 11, total: 61,
		},
		{
			// min_price raised 1.20 of energy to 2.00: the 0.80 adjustment is at the energy's rate.
			//   2.00 × 0.21 = 0.42
			name:     "min price adjustment",
			lines:    []in{{invCDR("f", "2.00/2.42", map[string]string{"total_energy_cost": "1.20/1.45"}), minPrice}},
			lineExcl: []int64{200}, lineVAT: []int64{42}, lineRate: []string{"21"},
			groups: []VATGroup{{"21", 200, 42, 242}},
			excl:   200, vat: 42, total: 242,
		},
		{
			// The tariff's energy components disagree (21 % and 9 %): the CDR's own ratio decides,
			// 11.50 / 10.00 − 1 = 15 %.
			name:     "rate implied by the CDR when the tariff is ambiguous",
			lines:    []in{{invCDR("g", "10.00/11.50", map[string]string{"total_energy_cost": "10.00/11.50"}), twoEnergyRates}},
			lineExcl: []int64{1000}, lineVAT: []int64{150}, lineRate: []string{"15"},
			groups: []VATGroup{{"15", 1000, 150, 1150}},
			excl:   1000, vat: 150, total: 1150,
		},
		{
			// Without a tariff nothing says what VAT applies: "no VAT".
			name:     "unknown tariff",
			lines:    []in{{invCDR("h", "3.00", map[string]string{"total_energy_cost": "3.00"}), nil}},
			lineExcl: []int64{300}, lineVAT: []int64{0}, lineRate: []string{NoVAT},
			groups: []VATGroup{{NoVAT, 300, 0, 300}},
			excl:   300, vat: 0, total: 300,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &Invoice{Currency: "EUR"}
			for i, l := range tc.lines {
				line, err := LineFromCDR(l.rec, l.t)
				if err != nil {
					t.Fatal(err)
				}
				if line.ExclMinor != tc.lineExcl[i] || line.VATMinor != tc.lineVAT[i] || line.Rate != tc.lineRate[i] || line.InclMinor != line.ExclMinor+line.VATMinor {
					t.Errorf("line %d: excl %d VAT %d rate %q incl %d; want %d %d %q", i, line.ExclMinor, line.VATMinor, line.Rate, line.InclMinor,
						tc.lineExcl[i], tc.lineVAT[i], tc.lineRate[i])
				}
				inv.Lines = append(inv.Lines, line)
			}
			if err := TotalInvoice(inv); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(inv.VAT) != fmt.Sprint(tc.groups) {
				t.Errorf("groups %v, want %v", inv.VAT, tc.groups)
			}
			if inv.ExclMinor != tc.excl || inv.VATMinor != tc.vat || inv.TotalMinor != tc.total {
				t.Errorf("totals %d + %d = %d, want %d + %d = %d", inv.ExclMinor, inv.VATMinor, inv.TotalMinor, tc.excl, tc.vat, tc.total)
			}
		})
	}
}

func TestCreditNote(t *testing.T) {
	// Hand derivation (gross refunded, VAT split once per rate, half-up):
	//   21 %: 12.10 + 0.01 = 12.11 → excl 12.11 × 100 / 121 = 10.00826… → 10.01, VAT 2.10
	//   no VAT: 1.00 → excl 1.00, VAT 0
	//   credit note: excl −11.01, VAT −2.10, total −13.11
	inv := &Invoice{Currency: "EUR", Kind: KindCreditNote, Credits: []CreditLine{
		{GrossMinor: 1210, Rate: "21"}, {GrossMinor: 100, Rate: NoVAT}, {GrossMinor: 1, Rate: "21"}}}
	if err := TotalCreditNote(inv); err != nil {
		t.Fatal(err)
	}
	want := []VATGroup{{NoVAT, -100, 0, -100}, {"21", -1001, -210, -1211}}
	if fmt.Sprint(inv.VAT) != fmt.Sprint(want) {
		t.Errorf("groups %v, want %v", inv.VAT, want)
	}
	if inv.ExclMinor != -1101 || inv.VATMinor != -210 || inv.TotalMinor != -1311 || inv.ChargedMinor != -1311 {
		t.Errorf("totals %d %d %d charged %d", inv.ExclMinor, inv.VATMinor, inv.TotalMinor, inv.ChargedMinor)
	}
}

func TestPeriod(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	tests := []struct {
		in       string
		ok       bool
		from, to string
		loc      *time.Location
	}{
		{"2026-11", true, "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z", ams},
		{"2026-03", true, "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z", ams}, // DST starts in March
		{"2026-12", true, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", time.UTC},
		{"2026-13", false, "", "", nil}, {"2026-1", false, "", "", nil}, {"11-2026", false, "", "", nil}, {"", false, "", "", nil},
		{"2026-11-01", false, "", "", nil},
	}
	for _, tc := range tests {
		p, err := ParsePeriod(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if !tc.ok {
			continue
		}
		from, to := p.Bounds(tc.loc)
		if from.Format(time.RFC3339) != tc.from || to.Format(time.RFC3339) != tc.to || p.String() != tc.in {
			t.Errorf("%q: %s .. %s (%s)", tc.in, from.Format(time.RFC3339), to.Format(time.RFC3339), p)
		}
	}
	p, _ := ParsePeriod("2026-11")
	if n := FormatNumber(p.Series(KindInvoice), 7); n != "INV-2026-000007" {
		t.Errorf("number %s", n)
	}
	if s := p.Series(KindCreditNote); s != "CN-2026" {
		t.Errorf("series %s", s)
	}
}
