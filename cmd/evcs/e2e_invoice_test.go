package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
	"github.com/evcs/evcs/internal/sim"
)

// getRaw fetches a path with the server's token and returns status, content type and body.
func (s *testServer) getRaw(path string) (int, string, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.Base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// simCall connects a simulated station and returns a function that sends one CALL.
func simCall(t *testing.T, ctx context.Context, s *testServer, v ocppj.Version, station string) func(action string, payload obj) obj {
	t.Helper()
	st, err := sim.NewStation(simConfig(s, v, "unused"), station)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	return func(action string, payload obj) obj {
		t.Helper()
		raw, err := st.Call(ctx, action, payload)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		var out obj
		_ = json.Unmarshal(raw, &out)
		return out
	}
}

// TestInvoiceEndToEnd: a purchaser tops up and charges over OCPP 1.6; the month's invoice run
// issues one invoice whose total is the receipt's; running it again issues nothing; invoice
// and receipt come as PDF. A session started at a 2.1 station with a payment terminal's token is
// rated by the AD_HOC_PAYMENT tariff and its NotifySettlement is recorded and matched.
//
// 12.345 kWh across the 18:00 change (see TestPrepaidChargingBilledToTheCent): 4.04 excl. VAT,
// 4.89 charged; the invoice: 4.04 × 0.21 = 0.8484 → 0.85 VAT, 4.89 total.
// Terminal session: 10 kWh × 0.50 = 5.00 excl. VAT × 1.20 = 6.00.
func TestInvoiceEndToEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		acc := s.billingFleet("TAG-INV", "INV-16")
		s.topUp(acc, "50.00", "till-inv")
		call := simCall(t, ctx, s, ocppj.V16, "INV-16")
		res := call("StartTransaction", obj{"connectorId": 1, "idTag": "TAG-INV", "meterStart": 100000, "timestamp": "2026-11-24T16:30:00Z"})
		txID := res["transactionId"]
		call("MeterValues", obj{"connectorId": 1, "transactionId": txID, "meterValue": []obj{{"timestamp": "2026-11-24T17:00:00Z",
			"sampledValue": []obj{{"value": "106000", "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"}}}}})
		call("StopTransaction", obj{"transactionId": txID, "meterStop": 112345, "timestamp": "2026-11-24T17:30:00Z", "reason": "EVDisconnected"})
		ses := s.session("INV-16", jsonString(txID))
		var rc, cdr obj
		s.must(200, "GET", "/api/v1/sessions/"+ses["id"].(string)+"/receipt", nil, &rc)
		receiptTotal := rc["total"].(map[string]any)["amount"]
		s.must(200, "GET", "/api/v1/cdrs/"+ses["cdr_id"].(string), nil, &cdr)
		created, _ := time.Parse(time.RFC3339, cdr["created_at"].(string))
		period := created.UTC().Format("2006-01") // a CDR is invoiced in the month it was created (UTC: no operator zone set)

		var run struct {
			Issued, Existing []obj
		}
		s.must(200, "POST", "/api/v1/invoices/run", obj{"period": period}, &run)
		if len(run.Issued) != 1 || run.Issued[0]["account_id"] != acc || run.Issued[0]["total"].(map[string]any)["amount"] != receiptTotal || receiptTotal != "4.89" {
			t.Fatalf("run = %+v, receipt total %v", run, receiptTotal)
		}
		s.must(200, "POST", "/api/v1/invoices/run", obj{"period": period}, &run)
		if len(run.Issued) != 0 || len(run.Existing) != 1 {
			t.Fatalf("second run = %+v", run)
		}
		if code, _ := s.do("POST", "/api/v1/invoices/run", obj{"period": "2026-13"}, nil); code != 422 {
			t.Errorf("bad period: %d", code)
		}
		var list struct{ Items []obj }
		s.must(200, "GET", "/api/v1/invoices?account_id="+acc+"&period="+period, nil, &list)
		if len(list.Items) != 1 {
			t.Fatalf("invoices = %v", list.Items)
		}
		inv := list.Items[0]
		vat := inv["vat"].([]any)
		if inv["number"] != run.Existing[0]["number"] || len(inv["lines"].([]any)) != 1 || len(vat) != 1 ||
			vat[0].(map[string]any)["vat"].(map[string]any)["amount"] != "0.85" || inv["total"].(map[string]any)["amount"] != "4.89" {
			t.Errorf("invoice = %v", inv)
		}
		code, ct, pdf := s.getRaw("/api/v1/invoices/" + inv["id"].(string) + "/pdf")
		if code != 200 || ct != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF")) || !bytes.Contains(pdf, []byte(inv["number"].(string))) {
			t.Errorf("invoice PDF: %d %s %.40q", code, ct, pdf)
		}
		code, ct, pdf = s.getRaw("/api/v1/sessions/" + ses["id"].(string) + "/receipt.pdf")
		if code != 200 || ct != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF")) {
			t.Errorf("receipt PDF: %d %s", code, ct)
		}

		// Payment at the terminal of a 2.1 station.
		var term, tar, st obj
		s.must(200, "PUT", "/api/v1/terminal-accounts/EUR", nil, &term)
		s.must(201, "POST", "/api/v1/tariffs", `{"currency":"EUR","type":"AD_HOC_PAYMENT","elements":[{"price_components":[{"type":"ENERGY","price":0.50,"vat":20,"step_size":1}]}]}`, &tar)
		s.must(200, "GET", "/api/v1/stations/INV-16", nil, &st)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "INV-21", "site_id": st["site_id"]}, nil)
		s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": "TERMINAL-21", "type": "Central", "account_id": term["id"], "tariff_id": tar["id"]}, nil)
		call21 := simCall(t, ctx, s, ocppj.V21, "INV-21")
		energy := func(wh, context string) []obj {
			return []obj{{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": []obj{{"value": json.Number(wh), "measurand": "Energy.Active.Import.Register", "context": context}}}}
		}
		txInfo := obj{"transactionId": "T21-1"}
		res = call21("TransactionEvent", obj{"eventType": "Started", "timestamp": "2026-11-24T10:00:00Z", "triggerReason": "Authorized", "seqNo": 0,
			"transactionInfo": txInfo, "idToken": obj{"idToken": "TERMINAL-21", "type": "Central"}, "evse": obj{"id": 1, "connectorId": 1},
			"meterValue": energy("50000", "Transaction.Begin")})
		if res["idTokenInfo"].(map[string]any)["status"] != "Accepted" {
			t.Fatalf("terminal token: %v", res)
		}
		ended := energy("60000", "Transaction.End")
		ended[0]["timestamp"] = "2026-11-24T11:00:00Z"
		call21("TransactionEvent", obj{"eventType": "Ended", "timestamp": "2026-11-24T11:00:00Z", "triggerReason": "EVCommunicationLost", "seqNo": 1,
			"transactionInfo": obj{"transactionId": "T21-1", "stoppedReason": "EVDisconnected"}, "meterValue": ended})
		tses := s.session("INV-21", "T21-1")
		if tses["cost"].(map[string]any)["amount"] != "6.00" {
			t.Fatalf("terminal session = %v", tses)
		}
		call21("NotifySettlement", obj{"transactionId": "T21-1", "pspRef": "PSP-991", "status": "Settled", "settlementAmount": 6.00,
			"settlementTime": "2026-11-24T11:00:05Z"})
		var stl struct{ Items []obj }
		s.must(200, "GET", "/api/v1/settlements?session_id="+tses["id"].(string), nil, &stl)
		if len(stl.Items) != 1 || stl.Items[0]["outcome"] != "matched" || stl.Items[0]["psp_ref"] != "PSP-991" || stl.Items[0]["ledger_tx_id"] == "" {
			t.Fatalf("settlements = %v", stl.Items)
		}
		code, _, pdf = s.getRaw("/api/v1/sessions/" + tses["id"].(string) + "/receipt.pdf")
		if code != 200 || !bytes.Contains(pdf, []byte("Paid at the payment terminal")) {
			t.Errorf("terminal receipt PDF: %d", code)
		}
		if !strings.HasPrefix(term["id"].(string), "sys_terminal_") {
			t.Errorf("terminal account = %v", term)
		}
	})
}
