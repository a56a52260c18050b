package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConformanceHarness runs the external OCPP acceptance harness (../shared/conformance: a
// station built on a client library others wrote, checking every reply against the official
// schemas) against Main, for every version, with and without a station password.
func TestConformanceHarness(t *testing.T) {
	dir, _ := filepath.Abs("../../../shared/conformance")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Skip("conformance harness not installed (needs ../shared/conformance with `npm ci` done); .ci/run installs it")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: the conformance harness cannot run")
	}
	if testing.Short() {
		t.Skip("-short: skipping the external conformance harness")
	}
	s := startMain(t, "sqlite:"+filepath.Join(t.TempDir(), "evcs.db"))
	s.fleet("TAG-OK", "CF-16", "CF-201", "CF-21")
	var site obj
	s.must(201, "POST", "/api/v1/sites", obj{"name": "PW", "time_zone": "UTC"}, &site)
	s.must(201, "POST", "/api/v1/stations", obj{"id": "CF-PW", "site_id": site["id"], "ocpp_password": "conformance-secret-1"}, nil)
	runs := []struct{ id, proto, password string }{
		{"CF-16", "ocpp1.6", ""}, {"CF-201", "ocpp2.0.1", ""}, {"CF-21", "ocpp2.1", ""},
		{"CF-PW", "ocpp1.6,ocpp2.0.1,ocpp2.1", "conformance-secret-1"},
	}
	for _, r := range runs {
		t.Run(r.id, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join(dir, "run.sh"))
			cmd.Env = append(os.Environ(), "URL="+s.wsURL(), "ID="+r.id, "PROTO="+r.proto, "TAG=TAG-OK", "PASSWORD="+r.password, "SKIP_INSTALL=1")
			out, err := cmd.CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			last := lines[len(lines)-1]
			if err != nil || !strings.HasSuffix(last, " 0 failed") {
				t.Fatalf("harness: %v\n%s", err, out)
			}
			t.Log(last)
		})
	}
}
