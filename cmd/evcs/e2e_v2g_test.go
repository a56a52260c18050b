package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

const (
	v2gImportTariff = `{"country_code":"NL","party_id":"EVC","id":"V2G-IN","currency":"EUR","last_updated":"2026-01-01T00:00:00Z",
 "elements":[{"price_components":[{"type":"ENERGY","price":0.30,"vat":21.0,"step_size":1}]}]}`
	v2gExportTariff = `{"country_code":"NL","party_id":"EVC","id":"V2G-OUT","currency":"EUR","last_updated":"2026-01-01T00:00:00Z",
 "elements":[{"price_components":[{"type":"ENERGY","price":0.12,"vat":21.0,"step_size":1}]}]}`
)

// v2gFleet: a site with an import and an export tariff, a V2X station on OCPP 2.1, and a
// purchaser with a token and a 60 kWh vehicle that must keep 30 % SoC.
func (s *testServer) v2gFleet(station, tag string) string {
	s.t.Helper()
	var in, out, site, user obj
	s.must(201, "POST", "/api/v1/tariffs", v2gImportTariff, &in)
	s.must(201, "POST", "/api/v1/tariffs", v2gExportTariff, &out)
	s.must(201, "POST", "/api/v1/sites", obj{"name": "V2G", "time_zone": "Europe/Amsterdam", "default_tariff_id": in["id"], "export_tariff_id": out["id"]}, &site)
	s.must(201, "POST", "/api/v1/stations", obj{"id": station, "site_id": site["id"], "kind": "dc", "v2x": true}, nil)
	s.must(201, "POST", "/api/v1/users", obj{"name": "V2G driver", "email": tag + "@example.com", "role": "purchaser"}, &user)
	s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": tag, "type": "ISO14443", "account_id": user["account_id"]}, nil)
	s.must(201, "POST", "/api/v1/vehicles", obj{"owner_id": user["id"], "plate": "V2G-1", "battery_capacity_wh": 60000, "min_soc_pct": 30}, nil)
	return user["account_id"].(string)
}

func mv(ts string, values ...obj) []obj { return []obj{{"timestamp": ts, "sampledValue": values}} }

func reg(measurand, wh, ctx string) obj {
	return obj{"value": json.Number(wh), "measurand": measurand, "context": ctx, "unitOfMeasure": obj{"unit": "Wh"}}
}

// TestV2GExportCreditOnReceipt: a 2.1 session imports 2 kWh and exports 8 kWh; the receipt
// shows the charge, the export credit as a negative line, and the net.
//
// Hand derivation (import 0.30/kWh, export 0.12/kWh, both 21 % VAT):
//
//	import  3000 − 1000 = 2000 Wh: 2 × 0.30 = 0.60 excl → 0.726 → 0.73 charged
//	export  8000 − 0 = 8000 Wh:    8 × 0.12 = 0.96 excl → 1.1616 → 1.16 credited
//	net     0.73 − 1.16 = −0.43 (the driver earns 0.43); excl. VAT 0.60 − 0.96 = −0.36
//	ledger  top-up +20.00, hold −20.00, capture 0.73, release +19.27, export credit +1.16 → 20.43
func TestV2GExportCreditOnReceipt(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		const station, tag = "V2G-21", "TAG-V2G"
		acc := s.v2gFleet(station, tag)
		s.topUp(acc, "20.00", "v2g-till")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := sim.NewStation(simConfig(s, ocppj.V21, tag), station)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Boot(ctx); err != nil {
			t.Fatal(err)
		}
		call := func(payload obj) {
			t.Helper()
			if _, err := st.Call(ctx, "TransactionEvent", payload); err != nil {
				t.Fatal(err)
			}
		}
		tok := obj{"idToken": tag, "type": "ISO14443"}
		imp, exp := "Energy.Active.Import.Register", "Energy.Active.Export.Register"
		call(obj{"eventType": "Started", "timestamp": "2026-05-04T10:00:00Z", "triggerReason": "Authorized", "seqNo": 0, "idToken": tok,
			"transactionInfo": obj{"transactionId": "V2G-TX-1", "chargingState": "Charging"}, "evse": obj{"id": 1, "connectorId": 1},
			"meterValue": mv("2026-05-04T10:00:00Z", reg(imp, "1000", "Transaction.Begin"), reg(exp, "0", "Transaction.Begin"))})
		call(obj{"eventType": "Updated", "timestamp": "2026-05-04T10:30:00Z", "triggerReason": "MeterValuePeriodic", "seqNo": 1,
			"transactionInfo": obj{"transactionId": "V2G-TX-1", "chargingState": "EVConnected"},
			"meterValue":      mv("2026-05-04T10:30:00Z", reg(imp, "2000", "Sample.Periodic"), reg(exp, "5000", "Sample.Periodic"))})
		call(obj{"eventType": "Ended", "timestamp": "2026-05-04T11:00:00Z", "triggerReason": "StopAuthorized", "seqNo": 2,
			"transactionInfo": obj{"transactionId": "V2G-TX-1", "stoppedReason": "Local"},
			"meterValue":      mv("2026-05-04T11:00:00Z", reg(imp, "3000", "Transaction.End"), reg(exp, "8000", "Transaction.End"))})

		ses := s.session(station, "V2G-TX-1")
		if ses["energy_wh"].(float64) != 2000 || ses["exported_wh"].(float64) != 8000 || ses["cost"].(map[string]any)["amount"] != "0.73" {
			t.Fatalf("session = %v", ses)
		}
		var rc obj
		s.must(200, "GET", "/api/v1/sessions/"+ses["id"].(string)+"/receipt", nil, &rc)
		var export obj
		for _, l := range rc["lines"].([]any) {
			if l.(map[string]any)["description"] == "Energy exported" {
				export = l.(map[string]any)
			}
		}
		if export == nil || export["quantity"] != "8" || export["excl_vat"].(map[string]any)["amount"] != "-0.96" ||
			export["incl_vat"].(map[string]any)["amount"] != "-1.16" {
			t.Fatalf("no export credit line on the receipt: %v", rc["lines"])
		}
		if rc["total"].(map[string]any)["amount"] != "-0.43" || rc["total_excl_vat"].(map[string]any)["amount"] != "-0.36" ||
			rc["balance_after"].(map[string]any)["amount"] != "20.43" {
			t.Errorf("receipt = %v", rc)
		}
		if b := s.balance(acc); b != "20.43" {
			t.Errorf("balance = %s, want 20.43", b)
		}
		var check obj
		s.must(200, "GET", "/api/v1/ledger/check", nil, &check)
		if check["ok"] != true {
			t.Errorf("ledger check = %v", check)
		}
	})
}

// TestV2GDischargeCommand: an operator asks the V2X station to discharge the running session's
// vehicle: refused while the vehicle is at or near its minimum SoC, sent as a 2.1
// SetChargingProfile with operationMode CentralSetpoint and a negative setpoint otherwise.
func TestV2GDischargeCommand(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		const station, tag = "V2X-21", "TAG-V2X"
		s.topUp(s.v2gFleet(station, tag), "20.00", "v2x-till")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := sim.NewStation(simConfig(s, ocppj.V21, tag), station)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Boot(ctx); err != nil {
			t.Fatal(err)
		}
		tx, err := st.StartCharging(ctx, 1, tag)
		if err != nil {
			t.Fatal(err)
		}
		soc := func(seq int, pct string) {
			t.Helper()
			_, err := st.Call(ctx, "TransactionEvent", obj{"eventType": "Updated", "timestamp": time.Now().UTC().Format(time.RFC3339), "triggerReason": "MeterValuePeriodic",
				"seqNo": seq, "transactionInfo": obj{"transactionId": tx.ID},
				"meterValue": mv(time.Now().UTC().Format(time.RFC3339), obj{"value": json.Number(pct), "measurand": "SoC", "unitOfMeasure": obj{"unit": "Percent"}})})
			if err != nil {
				t.Fatal(err)
			}
		}
		soc(1000, "25")
		code, raw := s.do("POST", "/api/v1/stations/"+station+"/discharge", obj{"evse_no": 1, "power_w": 7000, "duration_s": 3600}, nil)
		if code != 409 || !strings.Contains(string(raw), "at 25 % state of charge, at or below its minimum 30 %") {
			t.Fatalf("discharge at 25 %%: %d %s", code, raw)
		}
		soc(1001, "80")
		// 50 kW for an hour is 50 kWh of a 60 kWh battery: 80 % → −3.3 %, below 30 %.
		code, raw = s.do("POST", "/api/v1/stations/"+station+"/discharge", obj{"evse_no": 1, "power_w": 50000, "duration_s": 3600}, nil)
		if code != 409 || !strings.Contains(string(raw), "below its minimum 30 %") {
			t.Fatalf("deep discharge: %d %s", code, raw)
		}
		// 7 kW for an hour: 80 % → 68.3 %: sent.
		var cmd obj
		s.must(201, "POST", "/api/v1/stations/"+station+"/discharge", obj{"evse_no": 1, "power_w": 7000, "duration_s": 3600}, &cmd)
		req, _ := json.Marshal(cmd["request"])
		if cmd["action"] != "SetChargingProfile" || cmd["status"] != "accepted" || cmd["error"] != nil ||
			!strings.Contains(string(req), "CentralSetpoint") || !strings.Contains(string(req), "-7000") {
			t.Fatalf("command = %v", cmd)
		}
	})
}
