package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"debug/elf"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/store/opendb"
	"github.com/evcs/evcs/internal/store/storetest"
)

// migratedStore creates a migrated, closed store and returns its DSN.
func migratedStore(t *testing.T, dsn string) string {
	t.Helper()
	s, err := opendb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dsn
}

// unusedAddr is a loopback address nothing listens on.
func unusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// selfSigned writes a certificate valid from notBefore to notAfter and its key.
func selfSigned(t *testing.T, dir string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "evcs.example"}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, fmt.Sprintf("cert-%d.pem", notAfter.Unix())), filepath.Join(dir, fmt.Sprintf("key-%d.pem", notAfter.Unix()))
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func fileSum(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestDoctor(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "evcs.db")
	dsn := migratedStore(t, "sqlite:"+dbPath)
	good, goodKey := selfSigned(t, dir, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	old, oldKey := selfSigned(t, dir, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))

	t.Run("healthy store, free port, good certificate; changes nothing", func(t *testing.T) {
		before := fileSum(t, dbPath)
		out, _, err := runEVCS(t, "doctor", "--db", dsn, "--listen", unusedAddr(t), "--tls-cert", good, "--tls-key", goodKey)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{"OK    config", "OK    store", "OK    migrations", "OK    clock", "OK    listener", "OK    tls", "all checks passed"} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
		if fileSum(t, dbPath) != before {
			t.Fatal("doctor changed the database file")
		}
		for _, f := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(dbPath + f); err == nil {
				t.Errorf("doctor left %s behind", dbPath+f)
			}
		}
	})

	t.Run("each problem is one FAIL line saying what to do", func(t *testing.T) {
		missing := filepath.Join(dir, "nope", "evcs.db")
		out, _, err := runEVCS(t, "doctor", "--db", "sqlite:"+missing, "--listen", unusedAddr(t), "--tls-cert", old, "--tls-key", oldKey, "--log-level", "loud")
		if err == nil || !strings.Contains(err.Error(), "check(s) failed") {
			t.Fatalf("err = %v", err)
		}
		for _, want := range []string{"FAIL  config     --log-level", "FAIL  store      no database at", "evcs migrate", "FAIL  tls", "expired on", "renew"} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
		if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
			t.Fatal("doctor created the missing database's directory")
		}
	})

	t.Run("a port held by another program", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() { // accept and hang up: not EVCS
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		out, _, err := runEVCS(t, "doctor", "--db", dsn, "--listen", ln.Addr().String())
		if err == nil || !strings.Contains(out, "FAIL  listener") || !strings.Contains(out, "in use by another program") {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("pending migrations", func(t *testing.T) {
		stale := filepath.Join(t.TempDir(), "stale.db")
		migratedStore(t, "sqlite:"+stale)
		db, err := sql.Open("sqlite", stale)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec("DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)")
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := runEVCS(t, "doctor", "--db", "sqlite:"+stale, "--listen", unusedAddr(t))
		if err == nil || !strings.Contains(out, "FAIL  migrations 1 of") || !strings.Contains(out, "evcs migrate") {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("a running EVCS on its own store and port", func(t *testing.T) {
		for _, o := range storetest.Openers() {
			t.Run(o.Name, func(t *testing.T) {
				s := startMain(t, o.DSN(t))
				var before struct{ Items []any }
				s.must(200, "GET", "/api/v1/audit?limit=500", nil, &before)
				out, _, err := runEVCS(t, "doctor", "--db", s.M.Cfg.DB, "--listen", s.M.Addr())
				if err != nil || !strings.Contains(out, "in use by a running EVCS") || !strings.Contains(out, "OK    migrations all") {
					t.Fatalf("%v\n%s", err, out)
				}
				var after struct{ Items []any }
				s.must(200, "GET", "/api/v1/audit?limit=500", nil, &after)
				if len(after.Items) != len(before.Items) {
					t.Fatal("doctor wrote to the store")
				}
			})
		}
	})
}

// TestBackupWhileWriting: a backup of a live SQLite store taken while the API writes is a
// complete, consistent store; PostgreSQL gets the pg_dump recipe and a non-zero exit.
func TestBackupWhileWriting(t *testing.T) {
	s := startMain(t, storetest.SQLiteDSN(t))
	var first struct{ ID string }
	s.must(201, "POST", "/api/v1/sites", obj{"name": "Before the backup", "time_zone": "UTC"}, &first)

	stop := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			code, _ := s.do("POST", "/api/v1/sites", obj{"name": fmt.Sprintf("During %d", i), "time_zone": "UTC"}, nil)
			if code != 201 {
				t.Errorf("write during backup: %d", code)
				return
			}
			if i == 5 {
				close(started)
			}
		}
	}()
	<-started
	out := filepath.Join(t.TempDir(), "backup.db")
	stdout, stderr, err := runEVCS(t, "backup", "--db", s.M.Cfg.DB, "--out", out)
	close(stop)
	wg.Wait()
	if err != nil || !strings.HasPrefix(stdout, "backed up ") {
		t.Fatalf("backup: %v %s %s", err, stdout, stderr)
	}

	// The copy opens as a store and holds the row written before it.
	db, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name, check string
	if err := db.QueryRow("SELECT name FROM sites WHERE id = ?", first.ID).Scan(&name); err != nil || name != "Before the backup" {
		t.Fatalf("site in the backup: %q %v", name, err)
	}
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity: %s %v", check, err)
	}
	var n int
	_ = db.QueryRow("SELECT COUNT(*) FROM sites").Scan(&n)
	t.Logf("backup holds %d sites", n)
	restored := startMain(t, "sqlite:"+out)
	restored.must(200, "GET", "/api/v1/sites/"+first.ID, nil, nil)

	if _, _, err := runEVCS(t, "backup", "--db", s.M.Cfg.DB, "--out", out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a backup overwrote %s: %v", out, err)
	}
	_, stderr, err = runEVCS(t, "backup", "--db", "postgres://evcs:secret@db.example:5432/evcs?sslmode=require&search_path=tenant1", "--out", out)
	if err == nil || !strings.Contains(err.Error(), "pg_dump") || !strings.Contains(stderr, "pg_dump --format=custom") ||
		!strings.Contains(stderr, "--schema=tenant1") || strings.Contains(stderr, "secret") || strings.Contains(stderr, "search_path") {
		t.Fatalf("postgres: %v\n%s", err, stderr)
	}
}

func TestShellCompletion(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_evcs", "zsh": "#compdef evcs", "fish": "complete -c evcs", "powershell": "Register-ArgumentCompleter"} {
		out, _, err := runEVCS(t, "completion", shell)
		if err != nil || !strings.Contains(out, marker) {
			t.Errorf("completion %s: %v (%d bytes, no %q)", shell, err, len(out), marker)
		}
	}
	// Flag values complete too: the kinds of `evcs import --kind`.
	out, _, err := runEVCS(t, "__complete", "import", "--kind", "")
	if err != nil || !strings.Contains(out, "purchasers") || !strings.Contains(out, "vehicles") {
		t.Fatalf("__complete: %v\n%s", err, out)
	}
	for _, c := range []string{"import", "export", "doctor", "backup", "version"} {
		if out, _, _ := runEVCS(t, "__complete", c[:3]); !strings.Contains(out, c) {
			t.Errorf("%s does not complete from %q:\n%s", c, c[:3], out)
		}
	}
}

// TestStaticBinary: CGO_ENABLED=0 builds a binary with no dynamic loader that runs and tells
// its version and build information.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "evcs")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=9.9.9-test", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	if f, err := elf.Open(bin); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary asks for a dynamic loader: not static")
			}
		}
		f.Close()
	}
	var stdout bytes.Buffer
	run := exec.Command(bin, "version")
	run.Stdout = &stdout
	if err := run.Run(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "evcs 9.9.9-test") || !strings.Contains(stdout.String(), "go1.") {
		t.Fatalf("version: %q", stdout.String())
	}
}
