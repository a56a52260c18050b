package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/store/storetest"
)

// send is do with extra headers (Idempotency-Key), returning the status, headers and body.
func (s *testServer) send(token, method, path string, headers map[string]string, in, out any) (int, http.Header, []byte) {
	s.t.Helper()
	var rd io.Reader
	if in != nil {
		raw, _ := json.Marshal(in)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.Base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, res.Header, raw
}

// staffToken creates a staff user of a role and returns an API token for them.
func (s *testServer) staffToken(role, email string) string {
	s.t.Helper()
	var u, tok obj
	s.must(201, "POST", "/api/v1/users", obj{"name": role, "email": email, "role": role}, &u)
	s.must(201, "POST", "/api/v1/api-tokens", obj{"user_id": u["id"], "name": role + " token"}, &tok)
	return tok["token"].(string)
}

func amountOf(v any) string { return v.(map[string]any)["amount"].(string) }

// TestLedgerEndToEnd tops an account up over HTTP as a counter clerk's till would, repeats the
// request as a till that lost the answer would, and reads the ledger back.
func TestLedgerEndToEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		var user obj
		s.must(201, "POST", "/api/v1/users", obj{"name": "Grace Hopper", "email": "grace@example.com", "role": "purchaser", "currency": "EUR"}, &user)
		acc := user["account_id"].(string)
		operator := s.staffToken("operator", "op@example.com")
		viewer := s.staffToken("viewer", "view@example.com")
		topups := "/api/v1/accounts/" + acc + "/topups"
		body := obj{"amount": obj{"amount": "50.00", "currency": "EUR"}, "method": "counter", "reference": "R-1"}
		key := map[string]string{"Idempotency-Key": "till-7-0001"}
		start := time.Now().UTC().Add(-time.Second)

		var first, again, account obj
		code, h, raw := s.send(operator, "POST", topups, key, body, &first)
		if code != 201 || amountOf(first["balance"]) != "50.00" || amountOf(first["amount"]) != "50.00" || first["account_id"] != acc ||
			first["method"] != "counter" || first["reference"] != "R-1" || first["created_at"] == nil || h.Get("Idempotent-Replayed") != "" {
			t.Fatalf("top-up: %d %s", code, raw)
		}
		s.must(200, "GET", "/api/v1/accounts/"+acc, nil, &account)
		if amountOf(account["balance"]) != "50.00" {
			t.Fatalf("account = %v", account)
		}

		// The same key again: the same answer, nothing moves (even with another body).
		body2 := obj{"amount": obj{"amount": "70.00", "currency": "EUR"}, "method": "voucher"}
		code, h, raw = s.send(operator, "POST", topups, key, body2, &again)
		if code != 201 || again["id"] != first["id"] || amountOf(again["balance"]) != "50.00" || amountOf(again["amount"]) != "50.00" || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s (first %v)", code, raw, first)
		}
		s.must(200, "GET", "/api/v1/accounts/"+acc, nil, &account)
		if amountOf(account["balance"]) != "50.00" {
			t.Fatalf("balance after replay = %v", account["balance"])
		}

		// Refusals.
		refusals := []struct {
			name, token string
			headers     map[string]string
			body        any
			status      int
			mentions    string
		}{
			{"missing key", operator, nil, body, 400, "Idempotency-Key"},
			{"viewer", viewer, map[string]string{"Idempotency-Key": "v-1"}, body, 403, "operator"},
			{"excess precision", operator, map[string]string{"Idempotency-Key": "p-1"}, obj{"amount": obj{"amount": "1.005", "currency": "EUR"}, "method": "counter"}, 422, "amount.amount"},
			{"currency mismatch", operator, map[string]string{"Idempotency-Key": "c-1"}, obj{"amount": obj{"amount": "1.00", "currency": "USD"}, "method": "counter"}, 422, "amount.currency"},
			{"unknown method", operator, map[string]string{"Idempotency-Key": "m-1"}, obj{"amount": obj{"amount": "1.00", "currency": "EUR"}, "method": "iou"}, 422, "method"},
		}
		for _, r := range refusals {
			code, h, raw := s.send(r.token, "POST", topups, r.headers, r.body, nil)
			if code != r.status || !strings.Contains(string(raw), r.mentions) || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s: %d %s %s", r.name, code, h.Get("Content-Type"), raw)
			}
		}
		// A declined card payment: 402, nothing posted.
		card := app.NewTestProvider()
		card.Decline("card expired")
		s.M.App.SetPaymentProvider(app.MethodCardTerminal, card)
		declined := obj{"amount": obj{"amount": "20.00", "currency": "EUR"}, "method": "card_terminal"}
		if code, _, raw := s.send(operator, "POST", topups, map[string]string{"Idempotency-Key": "d-1"}, declined, nil); code != 402 || !strings.Contains(string(raw), "card expired") {
			t.Errorf("declined payment: %d %s", code, raw)
		}
		if calls := card.Calls(); len(calls) != 1 || !calls[0].Declined || calls[0].Amount.Minor != 2000 {
			t.Errorf("provider calls = %+v", calls)
		}
		s.must(200, "GET", "/api/v1/accounts/"+acc, nil, &account)
		if amountOf(account["balance"]) != "50.00" {
			t.Fatalf("balance after refusals = %v", account["balance"])
		}

		// Lists and the statement, read by a viewer.
		var list struct{ Items []obj }
		if code, _, raw := s.send(viewer, "GET", topups, nil, nil, &list); code != 200 || len(list.Items) != 1 || list.Items[0]["id"] != first["id"] {
			t.Fatalf("top-ups: %d %s", code, raw)
		}
		if code, _, raw := s.send(viewer, "GET", "/api/v1/accounts/"+acc+"/ledger", nil, nil, &list); code != 200 || len(list.Items) != 1 ||
			amountOf(list.Items[0]["amount"]) != "50.00" || list.Items[0]["kind"] != "topup" {
			t.Fatalf("ledger: %d %s", code, raw)
		}
		mid := time.Now().UTC().Add(time.Second)
		var st obj
		q := url.Values{"from": {start.Format(time.RFC3339)}, "to": {mid.Format(time.RFC3339)}}
		if code, _, raw := s.send(viewer, "GET", "/api/v1/accounts/"+acc+"/statement?"+q.Encode(), nil, nil, &st); code != 200 ||
			amountOf(st["opening_balance"]) != "0.00" || amountOf(st["closing_balance"]) != "50.00" || len(st["entries"].([]any)) != 1 {
			t.Fatalf("statement: %d %s", code, raw)
		}
		q = url.Values{"from": {mid.Format(time.RFC3339)}, "to": {mid.Add(time.Hour).Format(time.RFC3339)}}
		if code, _, raw := s.send(viewer, "GET", "/api/v1/accounts/"+acc+"/statement?"+q.Encode(), nil, nil, &st); code != 200 ||
			amountOf(st["opening_balance"]) != "50.00" || amountOf(st["closing_balance"]) != "50.00" || len(st["entries"].([]any)) != 0 {
			t.Fatalf("later statement: %d %s", code, raw)
		}

		// An adjustment needs an admin; the ledger check is admin's too, and passes.
		adj := obj{"amount": obj{"amount": "-5.00", "currency": "EUR"}, "reason": "fee"}
		if code, _, raw := s.send(operator, "POST", "/api/v1/accounts/"+acc+"/adjustments", map[string]string{"Idempotency-Key": "a-1"}, adj, nil); code != 403 {
			t.Errorf("operator adjustment: %d %s", code, raw)
		}
		var tx obj
		if code, _, raw := s.send(s.Token, "POST", "/api/v1/accounts/"+acc+"/adjustments", map[string]string{"Idempotency-Key": "a-1"}, adj, &tx); code != 201 || tx["kind"] != "adjustment" {
			t.Errorf("admin adjustment: %d %s", code, raw)
		}
		var check obj
		s.must(200, "GET", "/api/v1/ledger/check", nil, &check)
		if check["ok"] != true {
			t.Errorf("check = %v", check)
		}
		if code, _, _ := s.send(operator, "GET", "/api/v1/ledger/check", nil, nil, nil); code != 403 {
			t.Errorf("operator check: %d", code)
		}
	})
}

// TestAccountCommand runs `evcs account topup/balance` against both stores.
func TestAccountCommand(t *testing.T) {
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			dsn := o.DSN(t)
			s := startMain(t, dsn)
			var user obj
			s.must(201, "POST", "/api/v1/users", obj{"name": "Cli User", "email": "cli@example.com", "role": "purchaser", "currency": "EUR"}, &user)
			acc := user["account_id"].(string)
			run := func(args ...string) (string, error) {
				var out bytes.Buffer
				cmd := newRootCmd()
				cmd.SetOut(&out)
				cmd.SetErr(&out)
				cmd.SetArgs(append(args, "--db", dsn))
				err := cmd.Execute()
				return out.String(), err
			}
			out, err := run("account", "topup", "--account", acc, "--amount", "50.00", "--method", "counter", "--idempotency-key", "cli-1")
			if err != nil || !strings.Contains(out, "balance: 50.00 EUR") {
				t.Fatalf("topup: %v\n%s", err, out)
			}
			out, err = run("account", "topup", "--account", acc, "--amount", "50.00", "--idempotency-key", "cli-1")
			if err != nil || !strings.Contains(out, "balance: 50.00 EUR") || !strings.Contains(out, "nothing moved") {
				t.Fatalf("repeat: %v\n%s", err, out)
			}
			out, err = run("account", "topup", "--account", acc, "--amount", "2.50", "--reference", "R-9")
			if err != nil || !strings.Contains(out, "idempotency key: cli_") || !strings.Contains(out, "balance: 52.50 EUR") {
				t.Fatalf("generated key: %v\n%s", err, out)
			}
			out, err = run("account", "balance", "--account", acc)
			if err != nil || strings.TrimSpace(out) != "balance: 52.50 EUR" {
				t.Fatalf("balance: %v\n%s", err, out)
			}
			for _, bad := range [][]string{
				{"account", "topup", "--account", acc, "--amount", "1.001", "--idempotency-key", "b1"},
				{"account", "topup", "--account", acc, "--amount", "1", "--method", "iou", "--idempotency-key", "b2"},
				{"account", "topup", "--account", "acc_nope", "--amount", "1", "--idempotency-key", "b3"},
				{"account", "topup", "--account", acc},
				{"account", "balance"},
			} {
				if _, err := run(bad...); err == nil || strings.Contains(err.Error(), "\n") {
					t.Errorf("%v: error %v, want one line", bad, err)
				} else {
					t.Logf("%v → %v", bad[1:], err)
				}
			}
		})
	}
}
