// Package storetest opens every store implementation for tests and holds the conformance
// suite (Run) that each passes. SQLite always runs (a fresh file per test); PostgreSQL runs
// when EVCS_TEST_POSTGRES is set, each test in a schema of its own, dropped afterwards.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/opendb"
)

// EnvPostgres names the variable holding the PostgreSQL URL for tests.
const EnvPostgres = "EVCS_TEST_POSTGRES"

// Opener opens a fresh, empty store for one test and returns its DSN (as `evcs serve --db` takes it).
type Opener struct {
	Name string
	DSN  func(t testing.TB) string
}

// Openers lists the engines to test: sqlite always, postgres when EVCS_TEST_POSTGRES is set.
func Openers() []Opener {
	return []Opener{{"sqlite", SQLiteDSN}, {"postgres", PostgresDSN}}
}

// SQLiteDSN returns a DSN for a new SQLite file in the test's temp dir.
func SQLiteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "evcs.db")
}

// PostgresDSN creates a schema of its own for the test and returns a DSN whose search_path
// points at it; the schema is dropped when the test ends. Skips when EVCS_TEST_POSTGRES is unset.
func PostgresDSN(t testing.TB) string {
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip("PostgreSQL half skipped: set " + EnvPostgres + "=postgres://… to run it")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + strings.ToLower(hex.EncodeToString(b[:]))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a store from a DSN as `evcs serve --db` does.
func Open(ctx context.Context, dsn string) (store.Store, error) { return opendb.Open(ctx, dsn) }

// Each runs fn once per engine, as subtests named after the engine, with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s store.Store)) {
	for _, o := range Openers() {
		t.Run(o.Name, func(t *testing.T) {
			dsn := o.DSN(t)
			s, err := Open(context.Background(), dsn)
			if err != nil {
				t.Fatalf("open %s: %v", o.Name, err)
			}
			t.Cleanup(func() { s.Close() })
			fn(t, s)
		})
	}
}
