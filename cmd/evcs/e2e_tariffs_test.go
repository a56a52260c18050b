package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const touTariff = `{"currency":"EUR","elements":[
 {"price_components":[{"type":"ENERGY","price":0.40,"vat":21,"step_size":1}],"restrictions":{"start_time":"18:00","end_time":"22:00"}},
 {"price_components":[{"type":"ENERGY","price":0.25,"vat":21,"step_size":1}]}]}`

// TestTariffsEndToEnd: tariffs are stored as OCPI bodies with versions, checked strictly, priced
// without storing, and assignable only when they exist.
func TestTariffsEndToEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		var tar obj
		s.must(201, "POST", "/api/v1/tariffs", touTariff, &tar)
		id := tar["id"].(string)
		if tar["version"].(float64) != 1 || tar["currency"] != "EUR" || !strings.HasPrefix(id, "tar_") {
			t.Fatalf("tariff = %v", tar)
		}
		body := tar["tariff"].(map[string]any)
		if body["country_code"] != "XX" || body["party_id"] != "EVC" || body["id"] != id || body["last_updated"] == nil {
			t.Errorf("defaults not filled: %v", body)
		}
		// A new version; version 1 stays readable.
		s.must(200, "PUT", "/api/v1/tariffs/"+id, strings.Replace(touTariff, "0.25", "0.30", 1), &tar)
		if tar["version"].(float64) != 2 {
			t.Fatalf("update = %v", tar)
		}
		var v1 obj
		s.must(200, "GET", "/api/v1/tariffs/"+id+"/versions/1", nil, &v1)
		if !strings.Contains(mustJSON(v1["tariff"]), "0.25") {
			t.Errorf("version 1 changed: %v", v1)
		}
		// The list takes a range and a sort on updated_at like every list, and refuses others.
		var page struct{ Items []obj }
		s.must(200, "GET", "/api/v1/tariffs?sort=-updated_at&from=2000-01-01T00:00:00Z", nil, &page)
		if len(page.Items) != 1 || page.Items[0]["id"] != id || page.Items[0]["version"].(float64) != 2 {
			t.Errorf("tariffs since 2000: %v", page.Items)
		}
		s.must(200, "GET", "/api/v1/tariffs?to=2000-01-01T00:00:00Z", nil, &page)
		if len(page.Items) != 0 {
			t.Errorf("tariffs before 2000: %v", page.Items)
		}
		if code, raw := s.do("GET", "/api/v1/tariffs?sort=price", nil, nil); code != 400 || !strings.Contains(string(raw), "query.sort") {
			t.Errorf("sort=price: %d %s", code, raw)
		}
		// Bad tariffs name the field.
		for _, c := range []struct{ body, field string }{
			{`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":-1,"step_size":1}]}]}`, "price"},
			{`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":0}]}]}`, "step_size"},
			{`{"currency":"ZZZ","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":1}]}]}`, "currency"},
			{`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":1,"step_size":1}],"restrictions":{"start_tim":"10:00"}}]}`, "start_tim"},
		} {
			code, raw := s.do("POST", "/api/v1/tariffs", c.body, nil)
			if code != 422 || !strings.Contains(string(raw), c.field) {
				t.Errorf("bad tariff %s: %d %s", c.body, code, raw)
			}
		}
		// Price preview: 10 kWh at 0.30 evening-excluded daytime = 3.00 excl. VAT, 3.63 incl.
		var priced obj
		s.must(200, "POST", "/api/v1/tariffs/price", `{"time_zone":"Europe/Amsterdam","tariff":`+mustJSON(tar["tariff"])+`,"cdr":{"start_date_time":"2026-11-25T09:00:00Z","end_date_time":"2026-11-25T10:00:00Z","currency":"EUR","charging_periods":[{"start_date_time":"2026-11-25T09:00:00Z","dimensions":[{"type":"ENERGY","volume":10},{"type":"TIME","volume":1}]}]}}`, &priced)
		tc := priced["total_cost"].(map[string]any)
		if tc["excl_vat"].(float64) != 3 || tc["incl_vat"].(float64) != 3.63 {
			t.Errorf("priced total = %v", tc)
		}
		// Assigning a missing tariff is refused; an existing one is accepted.
		s.must(422, "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC", "default_tariff_id": "nope"}, nil)
		s.must(201, "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC", "default_tariff_id": id}, nil)
		// Deactivated tariffs cannot be assigned any more.
		s.must(200, "DELETE", "/api/v1/tariffs/"+id, nil, nil)
		s.must(422, "POST", "/api/v1/sites", obj{"name": "S2", "time_zone": "UTC", "default_tariff_id": id}, nil)
	})
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
