package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/demo"
)

// DemoDB is where `serve --demo` keeps its operator, apart from real data.
const DemoDB = "sqlite:./evcs-data/demo.db"

// demoConfig points a demo at its own database (kept between runs; --demo-reset starts over)
// and gives it a known admin token.
func (m *Main) demoConfig() error {
	if m.Cfg.DB == config.DefaultDB {
		m.Cfg.DB = DemoDB
	}
	if m.Cfg.DemoReset {
		if m.Cfg.DB != DemoDB {
			return fmt.Errorf("--demo-reset only starts ./evcs-data/demo.db over; it never deletes --db %s", m.Cfg.DB)
		}
		path := strings.TrimPrefix(DemoDB, "sqlite:")
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("--demo-reset: %w", err)
			}
		}
	}
	if m.Cfg.AdminToken == "" {
		m.Cfg.AdminToken = demo.AdminToken
	}
	return nil
}

func (m *Main) printDemo() {
	base := "http://" + m.Addr()
	fmt.Fprintf(m.Stdout, `
Demo operator ready: 6 simulated stations (OCPP 1.6, 2.0.1, 2.1) are charging and being billed.
  Console:        %s/
    operator:     %s / %s
    driver:       %s / %s
  API:            %s/api/v1  (Authorization: Bearer %s)
  OpenAPI:        %s/openapi.json
  Try:            curl -H 'Authorization: Bearer %s' %s/api/v1/sessions
Stop with Ctrl-C; the demo data stays in %s (--demo-reset starts over).
`, base, demo.OperatorEmail, demo.OperatorPassword, demo.DriverEmail, demo.DriverPassword, base, m.Cfg.AdminToken, base, m.Cfg.AdminToken, base, strings.TrimPrefix(m.Cfg.DB, "sqlite:"))
}
