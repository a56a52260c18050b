package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// TestGroupTariff: a purchaser group's tariff rates its members' sessions instead of the site's
// default, a token's own tariff still wins, and a group naming a missing tariff is refused.
func TestGroupTariff(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		var site, fleet, own obj
		s.must(201, "POST", "/api/v1/tariffs", touTariff, nil)
		var siteTariff obj
		s.must(201, "POST", "/api/v1/tariffs", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.50,"vat":21,"step_size":1}]}]}`, &siteTariff)
		s.must(201, "POST", "/api/v1/tariffs", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.20,"vat":21,"step_size":1}]}]}`, &fleet)
		s.must(201, "POST", "/api/v1/tariffs", `{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.10,"vat":21,"step_size":1}]}]}`, &own)
		s.must(201, "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC", "default_tariff_id": siteTariff["id"]}, &site)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "GRP-1", "site_id": site["id"]}, nil)
		s.must(422, "POST", "/api/v1/purchaser-groups", obj{"id": "fleet-x", "name": "X", "tariff_id": "missing"}, nil)
		s.must(201, "POST", "/api/v1/purchaser-groups", obj{"id": "fleet-acme", "name": "ACME fleet", "tariff_id": fleet["id"]}, nil)
		member := func(email, tag string, tokenTariff any) {
			var u obj
			s.must(201, "POST", "/api/v1/users", obj{"name": "M", "email": email, "role": "purchaser", "group_id": "fleet-acme"}, &u)
			s.must(200, "PATCH", "/api/v1/accounts/"+u["account_id"].(string), obj{"credit_limit": "100.00"}, nil)
			tok := obj{"uid": tag, "type": "ISO14443", "account_id": u["account_id"]}
			if tokenTariff != nil {
				tok["tariff_id"] = tokenTariff
			}
			s.must(201, "POST", "/api/v1/id-tokens", tok, nil)
		}
		member("m1@example.com", "TAG-FLEET", nil)
		member("m2@example.com", "TAG-OWN", own["id"])

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		st := s.bootedStation(ctx, ocppj.V16, "GRP-1", "TAG-FLEET")
		for tag, want := range map[string]any{"TAG-FLEET": fleet["id"], "TAG-OWN": own["id"]} {
			raw, err := st.Call(ctx, "StartTransaction", obj{"connectorId": 1, "idTag": tag, "meterStart": 0, "timestamp": time.Now().UTC().Format(time.RFC3339)})
			if err != nil {
				t.Fatal(err)
			}
			var res struct{ TransactionID int }
			_ = json.Unmarshal(raw, &res)
			ses := s.session("GRP-1", jsonString(res.TransactionID))
			if ses["tariff_id"] != want {
				t.Errorf("%s: session rated by %v, want %v", tag, ses["tariff_id"], want)
			}
		}
	})
}
