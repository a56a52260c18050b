package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for a read-only look at PostgreSQL
	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/store/sqlite"
)

func init() { extraCommands = append(extraCommands, newDoctorCmd) }

// maxClockSkew is how far the database's clock may be from this host's: sessions, holds and
// tariff periods are timed by the node, and several nodes share one PostgreSQL.
const maxClockSkew = 2 * time.Second

// newDoctorCmd is `evcs doctor`: checks what `evcs serve` would run with and says what to fix.
// It changes nothing: the store is opened read-only and never migrated, the listener is only
// probed.
func newDoctorCmd() *cobra.Command {
	var cfg config.Config
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, store, migrations, clock, listener and TLS files; change nothing",
		Long: "Check what `evcs serve` would run with (the same flags and EVCS_* variables): the configuration,\n" +
			"that the store answers, that its migrations match this binary, the clock skew against the\n" +
			"database, that the listen address is free (or already serves EVCS), and that the TLS files are\n" +
			"readable and valid. One line per check, OK or FAIL with what to do; exits non-zero when any\n" +
			"check fails. It changes nothing: the store is opened read-only and never migrated.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := &doctor{w: cmd.OutOrStdout()}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			d.config(cmd, &cfg)
			d.store(ctx, cfg.DB)
			d.listener(cfg)
			d.tlsFiles(cfg)
			if d.failed > 0 {
				return fmt.Errorf("doctor: %d check(s) failed", d.failed)
			}
			fmt.Fprintln(d.w, "all checks passed")
			return nil
		},
	}
	config.Bind(cmd.Flags(), &cfg)
	return cmd
}

type doctor struct {
	w      io.Writer
	failed int
}

func (d *doctor) ok(name, format string, args ...any) {
	fmt.Fprintf(d.w, "OK    %-10s %s\n", name, fmt.Sprintf(format, args...))
}

func (d *doctor) fail(name, format string, args ...any) {
	d.failed++
	fmt.Fprintf(d.w, "FAIL  %-10s %s\n", name, fmt.Sprintf(format, args...))
}

func (d *doctor) config(cmd *cobra.Command, cfg *config.Config) {
	if err := config.ApplyEnv(cmd.Flags(), os.Environ()); err != nil {
		d.fail("config", "%v", err)
		return
	}
	if err := cfg.Check(); err != nil {
		d.fail("config", "%v: fix the flag or its EVCS_* variable", err)
		return
	}
	d.ok("config", "flags and EVCS_* variables are valid")
}

// store checks reachability, migrations and the clock on a read-only connection.
func (d *doctor) store(ctx context.Context, dsn string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, engine, err := openReadOnly(ctx, dsn)
	if err != nil {
		d.fail("store", "%v", err)
		d.fail("migrations", "cannot tell: the store is not reachable")
		d.fail("clock", "cannot tell: the store is not reachable")
		return
	}
	defer db.Close()
	d.ok("store", "%s answers (%s)", engine, redactDSN(dsn))
	d.migrations(ctx, db)
	d.clock(ctx, db, engine)
}

// openReadOnly opens the store without creating, migrating or writing anything.
func openReadOnly(ctx context.Context, dsn string) (*sql.DB, string, error) {
	var db *sql.DB
	var engine string
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, "", fmt.Errorf("--db: %v", err)
		}
		// Every transaction of this connection is read-only, whatever a check runs.
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		if db, err = sql.Open("pgx", u.String()); err != nil {
			return nil, "", err
		}
		engine = "postgres"
	case strings.Contains(dsn, "://"), dsn == "":
		return nil, "", fmt.Errorf("--db %q: use sqlite:PATH or postgres://…", dsn)
	default:
		path := strings.TrimPrefix(dsn, "sqlite:")
		if _, err := os.Stat(path); err != nil {
			return nil, "", fmt.Errorf("no database at %s (%v): check --db, or create it with `evcs migrate --db %s`", path, errors.Unwrap(err), dsn)
		}
		abs, _ := filepath.Abs(path)
		params := "?mode=ro&_pragma=busy_timeout(5000)"
		// A read-only connection to a WAL database creates its -wal and -shm files when they are
		// missing. They are missing only when no process has the database open, so then the file
		// cannot change under us and is read as immutable: doctor leaves no file behind.
		if _, err := os.Stat(abs + "-wal"); errors.Is(err, os.ErrNotExist) {
			params += "&immutable=1"
		}
		var err error
		if db, err = sql.Open("sqlite", "file:"+abs+params); err != nil {
			return nil, "", err
		}
		engine = "sqlite"
	}
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		db.Close()
		hint := "check the host, port, user and password in --db, and that PostgreSQL runs"
		if engine == "sqlite" {
			hint = "check the file is a SQLite database and readable by this user"
		}
		return nil, "", fmt.Errorf("%s does not answer: %v: %s", engine, oneLineErr(err), hint)
	}
	return db, engine, nil
}

// migrations compares goose's record in the store with the migrations this binary embeds.
func (d *doctor) migrations(ctx context.Context, db *sql.DB) {
	want, err := embeddedMigrations(ctx)
	if err != nil {
		d.fail("migrations", "cannot list this binary's migrations: %v", err)
		return
	}
	have, err := appliedMigrations(ctx, db)
	if err != nil {
		d.fail("migrations", "no migration record in the store (%v): run `evcs migrate --db …`", oneLineErr(err))
		return
	}
	var pending, unknown []int64
	for _, v := range want {
		if !slices.Contains(have, v) {
			pending = append(pending, v)
		}
	}
	for _, v := range have {
		if !slices.Contains(want, v) {
			unknown = append(unknown, v)
		}
	}
	switch {
	case len(unknown) > 0:
		d.fail("migrations", "the store has migrations this binary does not know (%v): it was migrated by a newer evcs; run that version", unknown)
	case len(pending) > 0:
		d.fail("migrations", "%d of %d pending (%v): run `evcs migrate --db …` (serve also applies them at start)", len(pending), len(want), pending)
	default:
		d.ok("migrations", "all %d applied (latest %d)", len(want), want[len(want)-1])
	}
}

// embeddedMigrations lists the versions of the migrations this binary carries, by applying
// them to a throw-away in-memory SQLite database (the migration files are shared by both
// engines, and goose records each version it applies).
func embeddedMigrations(ctx context.Context) ([]int64, error) {
	s, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return appliedMigrations(ctx, s.SQL())
}

// appliedMigrations reads goose's version table: a version counts when its latest row says
// applied.
func appliedMigrations(ctx context.Context, db *sql.DB) ([]int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT version_id, is_applied FROM goose_db_version ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	state := map[int64]bool{}
	for rows.Next() {
		var v int64
		var applied bool
		if err := rows.Scan(&v, &applied); err != nil {
			return nil, err
		}
		state[v] = applied
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []int64
	for v, ok := range state {
		if ok && v > 0 { // goose's version 0 is its own bookkeeping row
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, nil
}

// clock compares the database's clock with this host's, allowing for the round trip.
func (d *doctor) clock(ctx context.Context, db *sql.DB, engine string) {
	if engine == "sqlite" {
		d.ok("clock", "SQLite runs inside evcs: one clock (keep the host on NTP)")
		return
	}
	t0 := time.Now()
	var dbNow time.Time
	if err := db.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&dbNow); err != nil {
		d.fail("clock", "cannot read the database clock: %v", oneLineErr(err))
		return
	}
	rtt := time.Since(t0)
	skew := dbNow.Sub(t0.Add(rtt / 2))
	if skew.Abs() > maxClockSkew+rtt/2 {
		d.fail("clock", "the database clock is %s from this host's (allowed %s): sync both with NTP (chrony, systemd-timesyncd)", skew.Round(time.Millisecond), maxClockSkew)
		return
	}
	d.ok("clock", "database clock within %s of this host's", skew.Abs().Round(time.Millisecond)+time.Millisecond)
}

// listener checks the listen address can be bound, or is bound by an EVCS that answers /healthz.
func (d *doctor) listener(cfg config.Config) {
	if cfg.Listen == "" {
		d.fail("listener", "--listen is empty")
		return
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err == nil {
		ln.Close()
		d.ok("listener", "%s is free", cfg.Listen)
		return
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		d.fail("listener", "cannot listen on %s: %v: pick another --listen (ports below 1024 need CAP_NET_BIND_SERVICE)", cfg.Listen, oneLineErr(err))
		return
	}
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	u := scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	// A health probe of our own port: the certificate is checked by the tls check, not here.
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := c.Get(u)
	if err == nil {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64))
		res.Body.Close()
		if res.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
			d.ok("listener", "%s is in use by a running EVCS (%s answers ok)", cfg.Listen, u)
			return
		}
	}
	d.fail("listener", "%s is in use by another program: stop it or pick another --listen", cfg.Listen)
}

// tlsFiles checks the certificate, key and client CA load, and that nothing has expired.
func (d *doctor) tlsFiles(cfg config.Config) {
	if cfg.TLSCert == "" && cfg.TLSKey == "" {
		d.ok("tls", "not configured: plain HTTP (OCPP security profiles 2 and 3 need --tls-cert and --tls-key)")
		return
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		d.fail("tls", "--tls-cert/--tls-key: %v: check the paths, permissions and that the key matches the certificate", oneLineErr(err))
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		d.fail("tls", "--tls-cert %s: %v", cfg.TLSCert, err)
		return
	}
	now := time.Now()
	if msg := validity(leaf, now); msg != "" {
		d.fail("tls", "--tls-cert %s %s: renew it", cfg.TLSCert, msg)
		return
	}
	note := ""
	if left := leaf.NotAfter.Sub(now); left < 30*24*time.Hour {
		note = fmt.Sprintf(" (only %d days left: renew soon)", int(left.Hours()/24))
	}
	d.ok("tls", "certificate %q valid until %s%s", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly), note)
	if cfg.ClientCA == "" {
		return
	}
	raw, err := os.ReadFile(cfg.ClientCA)
	if err != nil {
		d.fail("client-ca", "--client-ca: %v", oneLineErr(err))
		return
	}
	n := 0
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			d.fail("client-ca", "--client-ca %s: %v", cfg.ClientCA, err)
			return
		}
		if msg := validity(ca, now); msg != "" {
			d.fail("client-ca", "--client-ca %s: %q %s: replace it", cfg.ClientCA, ca.Subject.CommonName, msg)
			return
		}
		n++
	}
	if n == 0 {
		d.fail("client-ca", "--client-ca %s has no PEM certificates", cfg.ClientCA)
		return
	}
	d.ok("client-ca", "%d CA certificate(s) valid", n)
}

func validity(c *x509.Certificate, now time.Time) string {
	switch {
	case now.After(c.NotAfter):
		return "expired on " + c.NotAfter.UTC().Format(time.DateOnly)
	case now.Before(c.NotBefore):
		return "is not valid before " + c.NotBefore.UTC().Format(time.DateOnly)
	}
	return ""
}

// redactDSN hides a password in a DSN for printing.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}

func oneLineErr(err error) string { return firstLine(err) }
