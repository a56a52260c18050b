package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestMasterDataEndToEnd builds the chain an operator sets up on day one, over HTTP, and reads
// it back: site → distribution tree → station → EVSE → connector, a purchaser with an account,
// an RFID token and a vehicle.
func TestMasterDataEndToEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		var site, grid, feeder, station, evse, conn, user, acct, tok, veh obj
		s.must(201, "POST", "/api/v1/sites", obj{"name": "Depot North", "time_zone": "Europe/Amsterdam", "grid_limit_kw": 250, "address": obj{"city": "Utrecht", "country": "NL"}}, &site)
		siteID := site["id"].(string)
		s.must(201, "POST", "/api/v1/nodes", obj{"site_id": siteID, "kind": "grid", "name": "Grid connection", "limit_kw": 250}, &grid)
		s.must(201, "POST", "/api/v1/nodes", obj{"site_id": siteID, "parent_id": grid["id"], "kind": "feeder", "name": "Feeder A", "limit_kw": 100.5}, &feeder)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "CP-North-1", "site_id": siteID, "node_id": feeder["id"], "kind": "ac", "ocpp_password": "correct horse battery"}, &station)
		s.must(201, "POST", "/api/v1/stations/CP-North-1/evses", obj{"evse_no": 1}, &evse)
		s.must(201, "POST", "/api/v1/connectors", obj{"evse_id": evse["id"], "connector_no": 1, "type": "IEC_62196_T2", "max_power_kw": 22, "voltage_v": 380, "phases": 3}, &conn)
		s.must(201, "POST", "/api/v1/users", obj{"name": "Ada Lovelace", "email": "ada@example.com", "role": "purchaser", "currency": "EUR"}, &user)
		s.must(200, "GET", "/api/v1/accounts/"+user["account_id"].(string), nil, &acct)
		s.must(201, "POST", "/api/v1/id-tokens", obj{"uid": "04A1B2C3D4", "type": "ISO14443", "account_id": user["account_id"]}, &tok)
		s.must(201, "POST", "/api/v1/vehicles", obj{"owner_id": user["id"], "vin": "WVWZZZ1KZ6W000001", "plate": "AB-123-C", "battery_capacity_wh": 77000, "connector_types": []string{"IEC_62196_T2"}}, &veh)

		// Read everything back.
		var got obj
		s.must(200, "GET", "/api/v1/sites/"+siteID, nil, &got)
		if got["grid_limit_kw"].(float64) != 250 || got["time_zone"] != "Europe/Amsterdam" {
			t.Errorf("site = %v", got)
		}
		s.must(200, "GET", "/api/v1/stations/CP-North-1", nil, &got)
		if got["has_password"] != true || got["node_id"] != feeder["id"] || got["connected"] != false {
			t.Errorf("station = %v", got)
		}
		if _, leaked := got["ocpp_password"]; leaked {
			t.Errorf("station exposes its password: %v", got)
		}
		var evses struct{ Items []obj }
		s.must(200, "GET", "/api/v1/stations/CP-North-1/evses", nil, &evses)
		if len(evses.Items) != 1 || evses.Items[0]["evse_no"].(float64) != 1 {
			t.Errorf("evses = %v", evses)
		}
		s.must(200, "GET", "/api/v1/connectors/"+conn["id"].(string), nil, &got)
		if got["station_id"] != "CP-North-1" || got["max_power_kw"].(float64) != 22 {
			t.Errorf("connector = %v", got)
		}
		if acct["balance"].(map[string]any)["amount"] != "0.00" || acct["balance"].(map[string]any)["currency"] != "EUR" || acct["user_id"] != user["id"] {
			t.Errorf("account = %v", acct)
		}
		var toks struct{ Items []obj }
		s.must(200, "GET", "/api/v1/id-tokens?account_id="+user["account_id"].(string), nil, &toks)
		if len(toks.Items) != 1 || toks.Items[0]["uid"] != "04A1B2C3D4" || toks.Items[0]["status"] != "active" {
			t.Errorf("tokens = %v", toks)
		}
		s.must(200, "GET", "/api/v1/vehicles/"+veh["id"].(string), nil, &got)
		if got["battery_capacity_wh"].(float64) != 77000 || got["owner_id"] != user["id"] {
			t.Errorf("vehicle = %v", got)
		}

		// Update and deactivate leave an audit trail.
		s.must(200, "PATCH", "/api/v1/id-tokens/"+tok["id"].(string), obj{"status": "blocked"}, &got)
		if got["status"] != "blocked" || got["uid"] != "04A1B2C3D4" {
			t.Errorf("patched token = %v", got)
		}
		s.must(200, "DELETE", "/api/v1/vehicles/"+veh["id"].(string), nil, &got)
		if got["status"] != "inactive" {
			t.Errorf("deactivated vehicle = %v", got)
		}
		s.must(200, "GET", "/api/v1/vehicles/"+veh["id"].(string), nil, &got) // still there
		var audit struct{ Items []obj }
		s.must(200, "GET", "/api/v1/audit?entity=id_token&entity_id="+tok["id"].(string), nil, &audit)
		if len(audit.Items) != 2 || audit.Items[1]["action"] != "update" {
			t.Fatalf("audit = %v", audit)
		}
		if ch := audit.Items[1]["changes"].(map[string]any)["status"].([]any); ch[0] != "active" || ch[1] != "blocked" {
			t.Errorf("audit change = %v", ch)
		}
	})
}

// TestMasterDataBadInput: every bad request gets a 4xx problem naming the field, and nothing
// is written.
func TestMasterDataBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		var site, grid, user obj
		s.must(201, "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC"}, &site)
		s.must(201, "POST", "/api/v1/nodes", obj{"site_id": site["id"], "kind": "grid", "name": "G", "limit_kw": 100}, &grid)
		s.must(201, "POST", "/api/v1/users", obj{"name": "P", "email": "p@example.com", "role": "purchaser"}, &user)
		s.must(201, "POST", "/api/v1/stations", obj{"id": "CP-1", "site_id": site["id"]}, nil)
		cases := []struct {
			name, method, path string
			body               any
			code               int
			field              string
		}{
			{"malformed JSON", "POST", "/api/v1/sites", `{"name":`, 400, ""},
			{"unknown field", "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC", "colour": "red"}, 422, "body.colour"},
			{"wrong type", "POST", "/api/v1/sites", obj{"name": 5, "time_zone": "UTC"}, 422, "body.name"},
			{"bad time zone", "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "Mars/Olympus"}, 422, "body.time_zone"},
			{"negative capacity", "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC", "grid_limit_kw": -5}, 422, "body.grid_limit_kw"},
			{"sub-watt precision", "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC", "grid_limit_kw": 1.0001}, 422, ""},
			{"duplicate OCPP identity", "POST", "/api/v1/stations", obj{"id": "CP-1", "site_id": site["id"]}, 409, ""},
			{"station on missing site", "POST", "/api/v1/stations", obj{"id": "CP-2", "site_id": "nope"}, 422, "body.site_id"},
			{"token bound to missing account", "POST", "/api/v1/id-tokens", obj{"uid": "X1", "type": "ISO14443", "account_id": "acc_missing"}, 422, "body.account_id"},
			{"unknown token type", "POST", "/api/v1/id-tokens", obj{"uid": "X1", "type": "Magic", "account_id": user["account_id"]}, 422, "body.type"},
			{"child limit above parent", "POST", "/api/v1/nodes", obj{"site_id": site["id"], "parent_id": grid["id"], "kind": "feeder", "name": "F", "limit_kw": 150}, 422, "body.limit_kw"},
			{"second root", "POST", "/api/v1/nodes", obj{"site_id": site["id"], "kind": "grid", "name": "G2"}, 422, "body.parent_id"},
			{"bad VIN", "POST", "/api/v1/vehicles", obj{"owner_id": user["id"], "vin": "SHORT"}, 422, "body.vin"},
			{"negative battery", "POST", "/api/v1/vehicles", obj{"owner_id": user["id"], "plate": "X", "battery_capacity_wh": -1}, 422, "body.battery_capacity_wh"},
			{"duplicate email", "POST", "/api/v1/users", obj{"name": "P2", "email": "p@example.com", "role": "purchaser"}, 409, "body.email"},
			{"unknown currency", "POST", "/api/v1/users", obj{"name": "P3", "email": "p3@example.com", "role": "purchaser", "currency": "XYZ"}, 422, "body.currency"},
			{"bad email", "POST", "/api/v1/users", obj{"name": "P4", "email": "not-an-email", "role": "purchaser"}, 422, "body.email"},
			{"patch unknown field", "PATCH", "/api/v1/sites/" + site["id"].(string), obj{"nam": "x"}, 422, "body.nam"},
			{"patch missing record", "PATCH", "/api/v1/sites/site_missing", obj{"name": "x"}, 404, ""},
			{"get missing", "GET", "/api/v1/stations/CP-missing", nil, 404, ""},
			{"unknown filter", "GET", "/api/v1/sites?colour=red", nil, 422, "body.colour"},
			{"bad cursor", "GET", "/api/v1/sites?cursor=not*a*cursor", nil, 422, ""},
		}
		for _, c := range cases {
			code, raw := s.do(c.method, c.path, c.body, nil)
			if code != c.code {
				t.Errorf("%s: status %d, want %d: %s", c.name, code, c.code, raw)
				continue
			}
			var p struct {
				Status int
				Detail string
				Errors []struct{ Location string }
			}
			if err := json.Unmarshal(raw, &p); err != nil || p.Status != c.code || p.Detail == "" {
				t.Errorf("%s: not a problem document: %s", c.name, raw)
				continue
			}
			if c.field != "" {
				found := false
				for _, e := range p.Errors {
					found = found || e.Location == c.field
				}
				if !found {
					t.Errorf("%s: problem does not name %s: %s", c.name, c.field, raw)
				}
			}
		}
		// Nothing of the refused requests was written.
		var sites, stations struct{ Items []obj }
		s.must(200, "GET", "/api/v1/sites", nil, &sites)
		s.must(200, "GET", "/api/v1/stations", nil, &stations)
		if len(sites.Items) != 1 || len(stations.Items) != 1 {
			t.Errorf("refused requests left records: %d sites, %d stations", len(sites.Items), len(stations.Items))
		}
	})
}

// TestAuth: no token → 401, a viewer cannot write (403), an operator cannot create staff.
func TestAuth(t *testing.T) {
	eachStore(t, func(t *testing.T, s *testServer) {
		if code, _ := s.doAs("", "GET", "/api/v1/sites", nil, nil); code != http.StatusUnauthorized {
			t.Errorf("no token: %d", code)
		}
		if code, _ := s.doAs("evcs_wrong", "GET", "/api/v1/sites", nil, nil); code != http.StatusUnauthorized {
			t.Errorf("bad token: %d", code)
		}
		var viewer, operator obj
		s.must(201, "POST", "/api/v1/users", obj{"name": "V", "email": "v@example.com", "role": "viewer"}, &viewer)
		s.must(201, "POST", "/api/v1/users", obj{"name": "O", "email": "o@example.com", "role": "operator"}, &operator)
		var vt, ot obj
		s.must(201, "POST", "/api/v1/api-tokens", obj{"user_id": viewer["id"], "name": "ro"}, &vt)
		s.must(201, "POST", "/api/v1/api-tokens", obj{"user_id": operator["id"], "name": "ops"}, &ot)
		if !strings.HasPrefix(vt["token"].(string), "evcs_") {
			t.Fatalf("token = %v", vt)
		}
		if code, _ := s.doAs(vt["token"].(string), "GET", "/api/v1/sites", nil, nil); code != 200 {
			t.Errorf("viewer read: %d", code)
		}
		if code, _ := s.doAs(vt["token"].(string), "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC"}, nil); code != 403 {
			t.Errorf("viewer write: %d", code)
		}
		if code, _ := s.doAs(ot["token"].(string), "POST", "/api/v1/sites", obj{"name": "S", "time_zone": "UTC"}, nil); code != 201 {
			t.Errorf("operator write: %d", code)
		}
		if code, raw := s.doAs(ot["token"].(string), "POST", "/api/v1/users", obj{"name": "A", "email": "a2@example.com", "role": "admin"}, nil); code != 422 && code != 403 {
			t.Errorf("operator made an admin: %d %s", code, raw)
		}
		if code, _ := s.doAs(ot["token"].(string), "POST", "/api/v1/api-tokens", obj{"name": "x"}, nil); code != 403 {
			t.Errorf("operator made a token: %d", code)
		}
		// Revoking a token locks it out.
		s.must(200, "DELETE", "/api/v1/api-tokens/"+vt["id"].(string), nil, nil)
		if code, _ := s.doAs(vt["token"].(string), "GET", "/api/v1/sites", nil, nil); code != 401 {
			t.Errorf("revoked token: %d", code)
		}
		// Health endpoints need no token.
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
			if code, _ := s.doAs("", "GET", p, nil, nil); code != 200 {
				t.Errorf("%s: %d", p, code)
			}
		}
	})
}
