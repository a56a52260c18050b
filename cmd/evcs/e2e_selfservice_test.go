package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
)

// TestPurchaserOwnRecordsOnly: purchasers A and B each have a session with its receipt and
// CDR, an invoice, a token and a vehicle. B's API token and B's console login reach B's own
// records and get 404 for every one of A's, the same answer (but for the id) as for an id
// that does not exist; writes on A's records answer 404 and change nothing; lists hold only
// B's records. Staff-only operations stay 403.
func TestPurchaserOwnRecordsOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		var tar, site obj
		s.must(201, "POST", "/api/v1/tariffs", obj{"currency": "EUR", "elements": []obj{{"price_components": []obj{{"type": "ENERGY", "price": 0.30, "vat": 21, "step_size": 1}}}}}, &tar)
		s.must(201, "POST", "/api/v1/sites", obj{"name": "Own", "time_zone": "Europe/Amsterdam", "default_tariff_id": tar["id"]}, &site)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "OWN-1", "site_id": site["id"]}, nil)
		type who struct{ user, acc, tok, veh, ses, cdr, inv string }
		mk := func(name, tag string) who {
			var u, tok, veh obj
			s.must(201, "POST", "/api/v1/users", obj{"name": name, "email": strings.ToLower(name) + "@example.com", "role": "purchaser", "password": "correct horse battery"}, &u)
			w := who{user: u["id"].(string), acc: u["account_id"].(string)}
			s.must(200, "PATCH", "/api/v1/accounts/"+w.acc, obj{"credit_limit": "100.00"}, nil)
			s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": tag, "type": "ISO14443", "account_id": w.acc}, &tok)
			s.must(201, "POST", "/api/v1/vehicles", obj{"owner_id": w.user, "plate": tag + "-EV"}, &veh)
			w.tok, w.veh = tok["id"].(string), veh["id"].(string)
			w.ses = s.chargeOnce("OWN-1", tag)
			var ses obj
			s.must(200, "GET", "/api/v1/sessions/"+w.ses, nil, &ses)
			w.cdr = ses["cdr_id"].(string)
			return w
		}
		a, b := mk("Ada", "TAG-OA"), mk("Bea", "TAG-OB")
		s.must(200, "POST", "/api/v1/invoices/run", obj{"period": time.Now().UTC().Format("2006-01")}, nil)
		for _, w := range []*who{&a, &b} {
			var list struct{ Items []obj }
			s.must(200, "GET", "/api/v1/invoices?account_id="+w.acc, nil, &list)
			if len(list.Items) != 1 {
				t.Fatalf("invoices of %s: %v", w.acc, list.Items)
			}
			w.inv = list.Items[0]["id"].(string)
		}

		var key obj
		s.must(201, "POST", "/api/v1/api-tokens", obj{"user_id": b.user, "name": "Bea's app"}, &key)
		if key["role"] != "purchaser" {
			t.Fatalf("purchaser token role = %v", key["role"])
		}
		asB := func(method, path string, in any) (int, []byte) {
			t.Helper()
			if strings.HasSuffix(path, "/topups") { // moves money: needs an idempotency key
				code, _, raw := s.send(key["token"].(string), method, path, map[string]string{"Idempotency-Key": path + time.Now().String()}, in, nil)
				return code, raw
			}
			return s.doAs(key["token"].(string), method, path, in, nil)
		}
		// Reads: B's own records, A's, and ids that do not exist.
		for _, c := range []struct{ own, other, missing string }{
			{"/sessions/" + b.ses, "/sessions/" + a.ses, "/sessions/ses_missing"},
			{"/sessions/" + b.ses + "/receipt", "/sessions/" + a.ses + "/receipt", "/sessions/ses_missing/receipt"},
			{"/sessions/" + b.ses + "/receipt.pdf", "/sessions/" + a.ses + "/receipt.pdf", "/sessions/ses_missing/receipt.pdf"},
			{"/cdrs/" + b.cdr, "/cdrs/" + a.cdr, "/cdrs/cdr_missing"},
			{"/accounts/" + b.acc, "/accounts/" + a.acc, "/accounts/acc_missing"},
			{"/users/" + b.user, "/users/" + a.user, "/users/usr_missing"},
			{"/id-tokens/" + b.tok, "/id-tokens/" + a.tok, "/id-tokens/tok_missing"},
			{"/vehicles/" + b.veh, "/vehicles/" + a.veh, "/vehicles/veh_missing"},
			{"/invoices/" + b.inv, "/invoices/" + a.inv, "/invoices/inv_missing"},
			{"/invoices/" + b.inv + "/pdf", "/invoices/" + a.inv + "/pdf", "/invoices/inv_missing/pdf"},
		} {
			if code, body := asB("GET", "/api/v1"+c.own, nil); code != 200 {
				t.Errorf("B GET own %s: %d %s", c.own, code, body)
			}
			code, other := asB("GET", "/api/v1"+c.other, nil)
			_, missing := asB("GET", "/api/v1"+c.missing, nil)
			if code != 404 || !bytes.Equal(anonymise(other, c.other), anonymise(missing, c.missing)) {
				t.Errorf("B GET A's %s: %d %s; for a missing id: %s", c.other, code, other, missing)
			}
		}
		// Lists hold B's records only; asking for A's finds nothing.
		for path, own := range map[string]string{"/sessions": b.ses, "/cdrs": b.cdr, "/accounts": b.acc, "/id-tokens": b.tok, "/vehicles": b.veh, "/invoices": b.inv} {
			var page struct{ Items []obj }
			code, body := asB("GET", "/api/v1"+path, nil)
			if code != 200 || decode(t, body, &page) != nil || len(page.Items) != 1 || page.Items[0]["id"] != own {
				t.Errorf("B lists %s: %d %s", path, code, body)
			}
			filter := "?account_id=" + a.acc
			if path == "/vehicles" {
				filter = "?owner_id=" + a.user
			} else if path == "/accounts" {
				filter = "?user_id=" + a.user
			}
			code, body = asB("GET", "/api/v1"+path+filter, nil)
			if code != 200 || decode(t, body, &page) != nil || len(page.Items) != 0 {
				t.Errorf("B lists %s%s: %d %s", path, filter, code, body)
			}
		}
		// Writes on A's records: 404, nothing changes.
		balanceA := s.balance(a.acc)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"PATCH", "/id-tokens/" + a.tok, obj{"status": "blocked"}},
			{"DELETE", "/id-tokens/" + a.tok, nil},
			{"PATCH", "/vehicles/" + a.veh, obj{"plate": "STOLEN"}},
			{"DELETE", "/vehicles/" + a.veh, nil},
			{"POST", "/id-tokens", obj{"uid": "TAG-OX", "type": "ISO14443", "account_id": a.acc}},
			{"POST", "/vehicles", obj{"owner_id": a.user, "plate": "X-1"}},
			{"POST", "/accounts/" + a.acc + "/topups", obj{"amount": obj{"amount": "5.00", "currency": "EUR"}, "method": "counter"}},
		} {
			if code, body := asB(c.method, "/api/v1"+c.path, c.body); code != 404 {
				t.Errorf("B %s A's %s: %d %s, want 404", c.method, c.path, code, body)
			}
		}
		var tokA, vehA obj
		s.must(200, "GET", "/api/v1/id-tokens/"+a.tok, nil, &tokA)
		s.must(200, "GET", "/api/v1/vehicles/"+a.veh, nil, &vehA)
		if tokA["status"] != "active" || vehA["status"] != "active" || vehA["plate"] != "TAG-OA-EV" || s.balance(a.acc) != balanceA {
			t.Errorf("A's records changed: token %v, vehicle %v, balance %s → %s", tokA, vehA, balanceA, s.balance(a.acc))
		}
		// Writes on B's own records, within what purchasers may change.
		if code, body := asB("POST", "/api/v1/id-tokens", obj{"uid": "TAG-OB2", "type": "ISO14443", "account_id": b.acc}); code != 201 {
			t.Errorf("B adds a token: %d %s", code, body)
		}
		if code, _ := asB("PATCH", "/api/v1/id-tokens/"+b.tok, obj{"tariff_id": tar["id"]}); code != 422 {
			t.Errorf("B sets a driver tariff: %d, want 422", code)
		}
		if code, body := asB("PATCH", "/api/v1/id-tokens/"+b.tok, obj{"status": "blocked"}); code != 200 {
			t.Errorf("B blocks own token: %d %s", code, body)
		}
		if code, body := asB("PATCH", "/api/v1/vehicles/"+b.veh, obj{"make": "Kia"}); code != 200 {
			t.Errorf("B edits own vehicle: %d %s", code, body)
		}
		if code, body := asB("DELETE", "/api/v1/vehicles/"+b.veh, nil); code != 200 {
			t.Errorf("B removes own vehicle: %d %s", code, body)
		}
		topUp := obj{"amount": obj{"amount": "5.00", "currency": "EUR"}, "method": "counter"}
		if code, _ := asB("POST", "/api/v1/accounts/"+b.acc+"/topups", topUp); code != 422 {
			t.Errorf("B records a counter top-up: %d, want 422", code)
		}
		s.M.App.SetPaymentProvider("card", app.NewTestProvider())
		topUp["method"] = "card"
		if code, body := asB("POST", "/api/v1/accounts/"+b.acc+"/topups", topUp); code != 201 {
			t.Errorf("B tops up by card: %d %s", code, body)
		}
		// Everything else stays staff-only.
		for _, p := range []string{"GET /stations", "GET /sites", "GET /sessions/" + b.ses + "/meter-values", "GET /reports/energy", "GET /accounts/" + b.acc + "/ledger", "POST /sites", "GET /users"} {
			method, path, _ := strings.Cut(p, " ")
			var in any
			if method == "POST" {
				in = obj{"name": "x", "time_zone": "UTC"}
			}
			if code, _ := asB(method, "/api/v1"+path, in); code != 403 {
				t.Errorf("B %s: %d, want 403", p, code)
			}
		}

		// The console, by URL.
		pb := s.consoleClient()
		if code, body := pb.login("bea@example.com", "correct horse battery"); code != 200 || !strings.Contains(body, "My account") {
			t.Fatalf("B signs in: %d", code)
		}
		for _, p := range []string{"/sessions/" + b.ses, "/sessions/" + b.ses + "/receipt", "/accounts/" + b.acc} {
			if code, body := pb.get(p); code != 200 || strings.Contains(body, "TAG-OA") {
				t.Errorf("B GET own %s: %d", p, code)
			}
		}
		if _, body := pb.get("/accounts/" + b.acc); !strings.Contains(body, "My account") {
			t.Errorf("B's own account page is not /me")
		}
		for _, p := range []string{"/sessions/" + a.ses, "/sessions/" + a.ses + "/receipt", "/accounts/" + a.acc, "/accounts/acc_missing", "/sessions/ses_missing"} {
			if code, body := pb.get(p); code != 404 || strings.Contains(body, "TAG-OA") || strings.Contains(body, "Ada") {
				t.Errorf("B GET A's %s: %d, want 404", p, code)
			}
		}
		pb.get("/me")
		for _, p := range []string{"/me/tokens/" + a.tok + "/status", "/me/tokens/tok_missing/status", "/me/vehicles/" + a.veh + "/deactivate", "/me/vehicles/veh_missing/deactivate"} {
			if code, _ := pb.post(p, url.Values{"status": {"blocked"}}); code != 404 {
				t.Errorf("B POST %s: %d, want 404", p, code)
			}
		}
		s.must(200, "GET", "/api/v1/id-tokens/"+a.tok, nil, &tokA)
		s.must(200, "GET", "/api/v1/vehicles/"+a.veh, nil, &vehA)
		if tokA["status"] != "active" || vehA["status"] != "active" {
			t.Errorf("A's records changed from B's console: %v %v", tokA, vehA)
		}
	})
}

// anonymise blanks the record id of a request path (its second segment) in an answer.
func anonymise(body []byte, path string) []byte {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	id := parts[1]
	return bytes.ReplaceAll(body, []byte(id), []byte("ID"))
}

func decode(t *testing.T, b []byte, v any) error {
	t.Helper()
	return json.Unmarshal(b, v)
}
