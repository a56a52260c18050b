// Package arch holds the test that keeps DESIGN.md §2's import rules true.
package arch

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/evcs/evcs/"

// deps returns, for every package of the module, its imports (direct, or all with -deps).
func deps(t *testing.T, all bool) map[string][]string {
	t.Helper()
	format := `{{.ImportPath}} {{join .Imports " "}}`
	if all {
		format = `{{.ImportPath}} {{join .Deps " "}}`
	}
	out, err := exec.Command("go", "list", "-f", format, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[strings.TrimPrefix(f[0], mod)] = f[1:]
		}
	}
	return m
}

func internal(imports []string) []string {
	var out []string
	for _, i := range imports {
		if strings.HasPrefix(i, mod) {
			out = append(out, strings.TrimPrefix(i, mod))
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	direct, all := deps(t, false), deps(t, true)
	// Leaves: import nothing internal (money and energy may use the leaf error type; generated
	// version packages use the frame layer and the schema runtime).
	leaves := map[string][]string{
		"internal/errs": nil, "internal/ids": nil,
		"internal/money": {"internal/errs"}, "internal/energy": {"internal/errs"},
		"internal/ocpp/ocppj": nil, "internal/ocpp/schema": {"internal/ocpp/ocppj"},
		"internal/ocpp/v16":  {"internal/ocpp/ocppj", "internal/ocpp/schema"},
		"internal/ocpp/v201": {"internal/ocpp/ocppj", "internal/ocpp/schema"},
		"internal/ocpp/v21":  {"internal/ocpp/ocppj", "internal/ocpp/schema"},
	}
	for pkg, allowed := range leaves {
		for _, imp := range internal(direct[pkg]) {
			if !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s; it may import only %v", pkg, imp, allowed)
			}
		}
	}
	// Domain packages: no I/O, no edges, no stores (checked over all their dependencies).
	domain := []string{"internal/asset", "internal/account", "internal/charging", "internal/billing", "internal/audit",
		"internal/swap", "internal/load", "internal/monitor"}
	// database/sql/driver is only interfaces (the decimal and ULID types implement them); the rule
	// is about database/sql and net/http themselves, and about EVCS's own edges and stores.
	exact := []string{"database/sql", "net/http"}
	prefixes := []string{mod + "internal/ocpp/", mod + "internal/store/", mod + "internal/app/", mod + "internal/httpapi/", mod + "internal/web/"}
	for _, pkg := range domain {
		for _, d := range all[pkg] {
			bad := slices.Contains(exact, d)
			for _, p := range prefixes {
				bad = bad || d+"/" == p || strings.HasPrefix(d, p)
			}
			if bad {
				t.Errorf("domain package %s depends on %s", pkg, d)
			}
		}
	}
	// app: use cases over store interfaces, never an implementation or an edge.
	edges := []string{"internal/httpapi", "internal/web", "internal/ocpp/wsserver", "internal/ocpp/csms16", "internal/ocpp/csms201", "internal/ocpp/csms21", "internal/ocpp/csms"}
	impls := []string{"internal/store/sqlite", "internal/store/postgres", "internal/store/sqlstore", "internal/store/opendb", "internal/store/storetest"}
	for pkg, imps := range direct {
		if !strings.HasPrefix(pkg, "internal/") || strings.HasSuffix(pkg, "test") || strings.HasPrefix(pkg, "internal/store") || pkg == "internal/demo" {
			continue
		}
		for _, imp := range internal(imps) {
			if slices.Contains(impls, imp) {
				t.Errorf("%s imports the store implementation %s (only cmd and tests may)", pkg, imp)
			}
			if pkg == "internal/app" && slices.Contains(edges, imp) {
				t.Errorf("app imports the edge %s", imp)
			}
		}
	}
	// Edges never import each other (the OCPP edge's own layers may: csms* use wsserver and csms).
	for _, e := range []string{"internal/httpapi", "internal/web"} {
		for _, imp := range internal(direct[e]) {
			if slices.Contains(edges, imp) || strings.HasPrefix(imp, "internal/ocpp/") {
				t.Errorf("edge %s imports %s", e, imp)
			}
		}
	}
}
