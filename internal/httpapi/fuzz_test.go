package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/store/sqlite"
)

const fuzzToken = "fuzz-admin-token-0123456789"

// fuzzTargets are API bodies decoded from clients: resource inputs, merge patches, OCPI tariffs,
// price requests, money-moving top-ups.
var fuzzTargets = []struct{ method, path string }{
	{"POST", "/api/v1/sites"},
	{"PATCH", "/api/v1/sites/SITE"},
	{"POST", "/api/v1/stations"},
	{"POST", "/api/v1/users"},
	{"POST", "/api/v1/id-tokens"},
	{"POST", "/api/v1/tariffs"},
	{"POST", "/api/v1/tariffs/price"},
	{"POST", "/api/v1/api-tokens"},
	{"POST", "/api/v1/accounts/ACC/topups"},
}

// FuzzAPIBodies: no request body makes the API answer 5xx or anything but a JSON document; bad
// bodies are 4xx problems.
func FuzzAPIBodies(f *testing.F) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "evcs.db"))
	if err != nil {
		f.Fatal(err)
	}
	a := app.New(db, nil, nil)
	f.Cleanup(func() { a.Close(); db.Close() })
	if err := a.EnsureAdminToken(ctx, fuzzToken); err != nil {
		f.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(DefaultJSON)
	Mount(r, a, "fuzz")
	call := func(method, path, body string) (int, []byte) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fuzzToken)
		req.Header.Set("Idempotency-Key", "fuzz-key")
		if method == "PATCH" {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	var site, user struct {
		ID        string `json:"id"`
		AccountID string `json:"account_id"`
	}
	code, raw := call("POST", "/api/v1/sites", `{"name":"Fuzz","time_zone":"UTC"}`)
	if code != 201 || json.Unmarshal(raw, &site) != nil {
		f.Fatalf("site: %d %s", code, raw)
	}
	code, raw = call("POST", "/api/v1/users", `{"name":"P","email":"p@example.com","role":"purchaser","currency":"EUR"}`)
	if code != 201 || json.Unmarshal(raw, &user) != nil {
		f.Fatalf("user: %d %s", code, raw)
	}
	seeds := []string{
		`{"name":"Depot","time_zone":"Europe/Amsterdam","grid_limit_kw":250.5}`,
		`{"name":null}`, `{"grid_limit_kw":"1e999"}`, `{"time_zone":"Mars/Olympus"}`,
		`{"id":"CP-1","site_id":"SITE","ocpp_password":"short"}`,
		`{"name":"A","email":"a@example.com","role":"admin","password":"x"}`,
		`{"uid":"04A1","type":"ISO14443","account_id":"ACC","expires_at":"2020-01-01T00:00:00Z"}`,
		`{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.35,"vat":21,"step_size":1}]}]}`,
		`{"tariff":{"currency":"EUR","elements":[]},"cdr":{"start_date_time":"2026-01-01T00:00:00Z"}}`,
		`{"name":"t","scopes":["*:read","stations"]}`, `{"name":"t","scopes":[""]}`,
		`{"amount":{"amount":"50.00","currency":"EUR"},"method":"counter"}`, `{"amount":{"amount":"-1","currency":"EUR"},"method":"counter"}`,
		``, `{`, `[]`, `null`, `"x"`, `{"a":{"b":{"c":[[[[]]]]}}}`, "{\"name\":\"\xff\"}",
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, target uint8, body string) {
		tg := fuzzTargets[int(target)%len(fuzzTargets)]
		path := strings.NewReplacer("SITE", site.ID, "ACC", user.AccountID).Replace(tg.path)
		body = strings.NewReplacer(`"SITE"`, `"`+site.ID+`"`, `"ACC"`, `"`+user.AccountID+`"`).Replace(body)
		code, raw := call(tg.method, path, body)
		if code >= 500 {
			t.Fatalf("%s %s %q: %d %s", tg.method, path, body, code, raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("%s %s %q: %d, not JSON: %s", tg.method, path, body, code, raw)
		}
	})
}
