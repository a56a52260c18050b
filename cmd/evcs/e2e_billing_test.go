package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// topUp tops an account up over the API with an idempotency key.
func (s *testServer) topUp(accountID, amount, key string) obj {
	s.t.Helper()
	raw, _ := json.Marshal(obj{"amount": obj{"amount": amount, "currency": "EUR"}, "method": "counter", "reference": key})
	req, _ := http.NewRequest("POST", s.Base+"/api/v1/accounts/"+accountID+"/topups", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 {
		s.t.Fatalf("top-up: %d %s", res.StatusCode, body)
	}
	var out obj
	_ = json.Unmarshal(body, &out)
	return out
}

func (s *testServer) balance(accountID string) string {
	s.t.Helper()
	var acc obj
	s.must(200, "GET", "/api/v1/accounts/"+accountID, nil, &acc)
	return acc["balance"].(map[string]any)["amount"].(string)
}

// billingFleet: a site in Amsterdam whose default tariff is time-of-use (0.25 €/kWh, 0.40 from
// 18:00 to 22:00, 21 % VAT), a station and a purchaser without credit. Returns the account.
func (s *testServer) billingFleet(tag, station string) string {
	s.t.Helper()
	var tar, site, user obj
	s.must(201, "POST", "/api/v1/tariffs", touTariff, &tar)
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Amsterdam", "time_zone": "Europe/Amsterdam", "default_tariff_id": tar["id"]}, &site)
	s.must(201, "POST", "/api/v1/stations", obj{"id": station, "site_id": site["id"]}, nil)
	s.must(201, "POST", "/api/v1/users", obj{"name": "Driver", "email": tag + "@example.com", "role": "purchaser"}, &user)
	acc := user["account_id"].(string)
	s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": tag, "type": "ISO14443", "account_id": acc}, nil)
	return acc
}

// TestPrepaidChargingBilledToTheCent: a purchaser tops up 50.00 and charges 12.345 kWh across
// the 18:00 tariff change; the CDR, the receipt, the ledger and the balance agree to the cent;
// the same StopTransaction delivered twice charges once.
//
// Hand derivation (tariff touTariff, Europe/Amsterdam, 24 Nov 2026 is CET = UTC+1):
//
//	17:30–18:00 local: 0 → 6000 Wh   6.000 kWh × 0.25 = 1.5000
//	18:00–18:30 local: 6000 → 12345  6.345 kWh × 0.40 = 2.5380
//	energy excl. VAT 4.0380 → total_cost.excl_vat 4.04 (rounded half-up once, at the end)
//	incl. VAT 4.0380 × 1.21 = 4.88598 → 4.89 charged
//	ledger: top-up +50.00, hold −20.00, capture 4.89 of it, release +15.11 → balance 45.11
func TestPrepaidChargingBilledToTheCent(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		acc := s.billingFleet("TAG-BILL", "BILL-16")
		s.topUp(acc, "50.00", "till-1")
		s.topUp(acc, "50.00", "till-1") // the same top-up again moves nothing
		if b := s.balance(acc); b != "50.00" {
			t.Fatalf("balance after top-up = %s", b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st := s.bootedStation(ctx, ocppj.V16, "BILL-16", "TAG-BILL")
		call := func(action string, payload obj) obj {
			raw, err := st.Call(ctx, action, payload)
			if err != nil {
				t.Fatalf("%s: %v", action, err)
			}
			var out obj
			_ = json.Unmarshal(raw, &out)
			return out
		}
		res := call("StartTransaction", obj{"connectorId": 1, "idTag": "TAG-BILL", "meterStart": 100000, "timestamp": "2026-11-24T16:30:00Z"})
		if res["idTagInfo"].(map[string]any)["status"] != "Accepted" {
			t.Fatalf("start = %v", res)
		}
		txID := res["transactionId"]
		if b := s.balance(acc); b != "30.00" {
			t.Errorf("balance with 20.00 held = %s", b)
		}
		call("MeterValues", obj{"connectorId": 1, "transactionId": txID, "meterValue": []obj{{"timestamp": "2026-11-24T17:00:00Z",
			"sampledValue": []obj{{"value": "106000", "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"}}}}})
		stop := obj{"transactionId": txID, "idTag": "TAG-BILL", "meterStop": 112345, "timestamp": "2026-11-24T17:30:00Z", "reason": "EVDisconnected"}
		// The token's status in the answer is read after the stop is stored: 50.00 less
		// 4.89 leaves credit, so Accepted.
		if res := call("StopTransaction", stop); res["idTagInfo"] == nil || res["idTagInfo"].(map[string]any)["status"] != "Accepted" {
			t.Errorf("stop = %v, want idTagInfo Accepted", res)
		}
		call("StopTransaction", stop) // delivered twice: charged once

		ses := s.session("BILL-16", jsonString(txID))
		if ses["energy_wh"].(float64) != 12345 || ses["cost"].(map[string]any)["amount"] != "4.89" {
			t.Fatalf("session = %v", ses)
		}
		var cdr obj
		s.must(200, "GET", "/api/v1/cdrs/"+ses["cdr_id"].(string), nil, &cdr)
		body := cdr["cdr"].(map[string]any)
		tc := body["total_cost"].(map[string]any)
		if tc["excl_vat"].(float64) != 4.04 || tc["incl_vat"].(float64) != 4.89 || body["total_energy"].(float64) != 12.345 || len(body["charging_periods"].([]any)) != 2 {
			t.Errorf("CDR = %v", body)
		}
		var rc obj
		s.must(200, "GET", "/api/v1/sessions/"+ses["id"].(string)+"/receipt", nil, &rc)
		if rc["total"].(map[string]any)["amount"] != "4.89" || rc["total_excl_vat"].(map[string]any)["amount"] != "4.04" ||
			rc["balance_after"].(map[string]any)["amount"] != "45.11" || len(rc["postings"].([]any)) != 3 {
			t.Errorf("receipt = %v", rc)
		}
		if b := s.balance(acc); b != "45.11" {
			t.Errorf("balance = %s, want 45.11", b)
		}
		var check obj
		s.must(200, "GET", "/api/v1/ledger/check", nil, &check)
		if check["ok"] != true {
			t.Errorf("ledger check = %v", check)
		}
	})
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestSessionStoppedWhenBalanceRunsOut: a driver with 5.00 charges at 0.25 €/kWh; once the
// running cost reaches what the account can pay, EVCS stops the session through OCPP.
func TestSessionStoppedWhenBalanceRunsOut(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		acc := s.billingFleet("TAG-LOW", "LOW-201")
		s.topUp(acc, "5.00", "till-low")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cfg := simConfig(s, ocppj.V201, "TAG-LOW")
		cfg.MeterInterval = 30 * time.Minute // each meter value is half an hour of charging
		st, err := sim.NewStation(cfg, "LOW-201")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		events, unsub := s.M.App.Bus.Subscribe(256)
		defer unsub()
		go st.Run(ctx) //nolint:errcheck // ends with ctx
		if err := st.WaitOnline(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.StartCharging(ctx, 1, "TAG-LOW"); err != nil {
			t.Fatal(err)
		}
		var ended *charging.Session
		requested := false
		see := func(ev app.Event) {
			requested = requested || ev.Kind == "session.stop_requested"
			if ses, ok := ev.Data.(*charging.Session); ok && ev.Kind == "session.ended" && ev.StationID == "LOW-201" {
				ended = ses
			}
		}
		for i := 0; i < 20 && !requested && ended == nil; i++ {
			if _, err := st.SendMeterValues(ctx, 1); err != nil {
				break // the station may already have stopped on EVCS's request
			}
			for drained := false; !drained; {
				select {
				case ev := <-events:
					see(ev)
				default:
					drained = true
				}
			}
		}
		// stop_requested is published once the stop command is recorded; the session may end
		// (the station answers and stops) before that.
		for ended == nil || !requested {
			select {
			case ev := <-events:
				see(ev)
			case <-ctx.Done():
				t.Fatalf("the session was not stopped by EVCS (ended %v, stop requested %v)", ended != nil, requested)
			}
		}
		if !ended.StopRequested || ended.StopReason != "Remote" {
			t.Errorf("ended session = %+v", ended)
		}
		var cmds struct{ Items []obj }
		s.must(200, "GET", "/api/v1/commands?station_id=LOW-201", nil, &cmds)
		if len(cmds.Items) != 1 || cmds.Items[0]["action"] != "RequestStopTransaction" {
			t.Errorf("commands = %v", cmds.Items)
		}
	})
}
