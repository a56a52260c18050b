package billing

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/evcs/evcs/internal/errs"
)

func TestDecodeTariffErrors(t *testing.T) {
	el := func(pc, restr string) string {
		if restr != "" {
			restr = `,"restrictions":{` + restr + `}`
		}
		return `[{"price_components":[` + pc + `]` + restr + `}]`
	}
	okPC := `{"type":"ENERGY","price":0.25,"vat":10,"step_size":1}`
	tests := []struct {
		name, json, field string
	}{
		{"unknown currency", tariffJSON("XXX", "", el(okPC, "")), "currency"},
		{"negative price", tariffJSON("EUR", "", el(`{"type":"ENERGY","price":-0.25,"step_size":1}`, "")), "elements[0].price_components[0].price"},
		{"negative vat", tariffJSON("EUR", "", el(`{"type":"ENERGY","price":0.25,"vat":-1,"step_size":1}`, "")), "elements[0].price_components[0].vat"},
		{"step_size zero", tariffJSON("EUR", "", el(okPC+`,{"type":"TIME","price":1,"step_size":0}`, "")), "elements[0].price_components[1].step_size"},
		{"step_size negative", tariffJSON("EUR", "", el(`{"type":"TIME","price":1,"step_size":-60}`, "")), "elements[0].price_components[0].step_size"},
		{"step_size not an integer", tariffJSON("EUR", "", el(`{"type":"TIME","price":1,"step_size":1.5}`, "")), "elements[0].price_components[0].step_size"},
		{"five fraction digits", tariffJSON("EUR", "", el(`{"type":"ENERGY","price":0.12345,"step_size":1}`, "")), "elements[0].price_components[0].price"},
		{"price as string", tariffJSON("EUR", "", el(`{"type":"ENERGY","price":"0.25","step_size":1}`, "")), "elements[0].price_components[0].price"},
		{"price missing", tariffJSON("EUR", "", el(`{"type":"ENERGY","step_size":1}`, "")), "elements[0].price_components[0].price"},
		{"unknown dimension", tariffJSON("EUR", "", el(`{"type":"KWH","price":1,"step_size":1}`, "")), "elements[0].price_components[0].type"},
		{"bad start_time", tariffJSON("EUR", "", el(okPC, `"start_time":"24:00"`)), "elements[0].restrictions.start_time"},
		{"bad end_time", tariffJSON("EUR", "", el(okPC, `"end_time":"7:00"`)), "elements[0].restrictions.end_time"},
		{"bad date", tariffJSON("EUR", "", el(okPC, `"start_date":"2024-02-30"`)), "elements[0].restrictions.start_date"},
		{"start_date after end_date", tariffJSON("EUR", "", el(okPC, `"start_date":"2024-03-02","end_date":"2024-03-01"`)), "elements[0].restrictions.start_date"},
		{"min_kwh > max_kwh", tariffJSON("EUR", "", el(okPC, `"min_kwh":20,"max_kwh":10`)), "elements[0].restrictions.min_kwh"},
		{"min_current > max_current", tariffJSON("EUR", "", el(okPC, `"min_current":32,"max_current":16`)), "elements[0].restrictions.min_current"},
		{"min_power > max_power", tariffJSON("EUR", "", el(okPC, `"min_power":50,"max_power":22`)), "elements[0].restrictions.min_power"},
		{"min_duration > max_duration", tariffJSON("EUR", "", el(okPC, `"min_duration":7200,"max_duration":3600`)), "elements[0].restrictions.min_duration"},
		{"unknown day", tariffJSON("EUR", "", el(okPC, `"day_of_week":["MONDAY","MON"]`)), "elements[0].restrictions.day_of_week[1]"},
		{"unknown reservation", tariffJSON("EUR", "", el(okPC, `"reservation":"MAYBE"`)), "elements[0].restrictions.reservation"},
		{"energy in reservation element", tariffJSON("EUR", "", el(okPC, `"reservation":"RESERVATION"`)), "elements[0].price_components[0].type"},
		{"empty elements", tariffJSON("EUR", "", `[]`), "elements"},
		{"empty price_components", tariffJSON("EUR", "", `[{"price_components":[]}]`), "elements[0].price_components"},
		{"unknown tariff type", tariffJSON("EUR", `"type":"CHEAP"`, el(okPC, "")), "type"},
		{"unknown top-level field", tariffJSON("EUR", `"tax_included":"NO"`, el(okPC, "")), "tax_included"},
		{"unknown nested field", tariffJSON("EUR", "", el(okPC, `"start_tim":"10:00"`)), "elements[0].restrictions.start_tim"},
		{"min_price > max_price", tariffJSON("EUR", `"min_price":{"excl_vat":5},"max_price":{"excl_vat":4}`, el(okPC, "")), "min_price.excl_vat"},
		{"min_price too precise", tariffJSON("EUR", `"min_price":{"excl_vat":0.00001}`, el(okPC, "")), "min_price.excl_vat"},
		{"start_date_time after end_date_time", tariffJSON("EUR", `"start_date_time":"2024-02-01T00:00:00Z","end_date_time":"2024-01-01T00:00:00Z"`, el(okPC, "")), "start_date_time"},
		{"bad date-time", tariffJSON("EUR", `"start_date_time":"yesterday"`, el(okPC, "")), "start_date_time"},
		{"missing id", `{"country_code":"DE","party_id":"ALL","currency":"EUR","elements":` + el(okPC, "") + `}`, "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTariff([]byte(tc.json))
			if err == nil {
				t.Fatal("no error")
			}
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("error %q: field %q, want %q", err, errs.FieldOf(err), tc.field)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{`, `{"id":1}x`, `null`} {
		if _, err := DecodeTariff([]byte(bad)); !errs.Is(err, errs.Invalid) {
			t.Errorf("DecodeTariff(%q) = %v, want an invalid error", bad, err)
		}
	}
}

func TestDecodeCDRErrors(t *testing.T) {
	ok := func(repl ...string) string {
		s := `{"currency":"EUR","start_date_time":"2024-01-01T10:00:00Z","end_date_time":"2024-01-01T11:00:00Z",
			"charging_periods":[{"start_date_time":"2024-01-01T10:00:00Z","dimensions":[{"type":"ENERGY","volume":1}]},
			{"start_date_time":"2024-01-01T10:30:00Z","dimensions":[{"type":"PARKING_TIME","volume":0.5}]}]}`
		return strings.NewReplacer(repl...).Replace(s)
	}
	if _, err := DecodeCDR([]byte(ok())); err != nil {
		t.Fatalf("valid CDR: %v", err)
	}
	tests := []struct {
		name, json, field string
	}{
		{"missing start", ok(`"start_date_time":"2024-01-01T10:00:00Z","end`, `"end`), "start_date_time"},
		{"missing currency", ok(`"currency":"EUR",`, ``), "currency"},
		{"unknown currency", ok(`"EUR"`, `"EURO"`), "currency"},
		{"end before start", ok(`"end_date_time":"2024-01-01T11:00:00Z"`, `"end_date_time":"2024-01-01T09:00:00Z"`), "end_date_time"},
		{"no periods", `{"currency":"EUR","start_date_time":"2024-01-01T10:00:00Z","end_date_time":"2024-01-01T11:00:00Z","charging_periods":[]}`, "charging_periods"},
		{"unknown dimension", ok(`"PARKING_TIME"`, `"IDLE"`), "charging_periods[1].dimensions[0].type"},
		{"negative volume", ok(`"volume":0.5`, `"volume":-0.5`), "charging_periods[1].dimensions[0].volume"},
		{"volume as string", ok(`"volume":0.5`, `"volume":"0.5"`), "charging_periods[1].dimensions[0].volume"},
		{"periods out of order", ok(`10:30:00Z`, `09:30:00Z`), "charging_periods[1].start_date_time"},
		{"period after end", ok(`10:30:00Z`, `11:30:00Z`), "charging_periods[1].start_date_time"},
		{"no dimensions", ok(`"dimensions":[{"type":"ENERGY","volume":1}]`, `"dimensions":[]`), "charging_periods[0].dimensions"},
		{"repeated key", ok(`{"currency":"EUR",`, `{"currency":"EUR","currency":"USD",`), "currency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCDR([]byte(tc.json))
			if err == nil {
				t.Fatal("no error")
			}
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("error %q: field %q, want %q", err, errs.FieldOf(err), tc.field)
			}
		})
	}
}

// A decoded tariff encodes back to JSON that decodes to the same tariff, numbers exact.
func TestTariffRoundTrip(t *testing.T) {
	in := tariffJSON("EUR", `"min_price":{"excl_vat":0.5000,"incl_vat":0.55},"type":"REGULAR"`, elComplex)
	tr := mustTariff(t, in)
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"price":2.50`) || !strings.Contains(string(b), `"excl_vat":0.5000`) {
		t.Errorf("numbers not kept exactly: %s", b)
	}
	tr2, err := DecodeTariff(b)
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, b)
	}
	b2, _ := json.Marshal(tr2)
	if string(b) != string(b2) {
		t.Errorf("round trip differs:\n%s\n%s", b, b2)
	}
}

func FuzzDecodeTariff(f *testing.F) {
	f.Add([]byte(tariffJSON("EUR", "", elComplex)))
	f.Add([]byte(tariffJSON("EUR", `"max_price":{"excl_vat":10.00,"incl_vat":11.00}`, elFlatEnergy)))
	f.Add([]byte(tariffJSON("EUR", "", elStepSize)))
	f.Add([]byte(tariffJSON("EUR", "", elReservationExpireFee)))
	f.Add([]byte(`{"elements":[{"price_components":[{"type":"ENERGY","price":1e400,"step_size":1}]}]}`))
	f.Add([]byte(`{"country_code":"DE","party_id":"ALL","id":"1","currency":"EUR","elements":[{"price_components":[{"type":"TIME","price":0.1,"step_size":9223372036854775807}]}]}`))
	f.Add([]byte(`[`))
	cdr := mustCDR(f, cdrJSON("EUR", "2024-01-06T13:30:00Z", "2024-01-06T16:35:00Z",
		"2024-01-06T13:30:00Z TIME=1.9 ENERGY=30 MIN_CURRENT=43", "2024-01-06T15:24:00Z PARKING_TIME=1.1833"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := DecodeTariff(b)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("decoded tariff does not validate: %v", err)
		}
		enc, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeTariff(enc); err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		cdr.Currency = tr.Currency
		_, _ = Price(cdr, tr, nil) // must not panic
	})
}
