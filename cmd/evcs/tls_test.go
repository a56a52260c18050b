package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/config"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "EVCS test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a leaf certificate for cn; server certificates name 127.0.0.1.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestTLSSecurityProfile3: over TLS, a station presenting a client certificate issued by the
// configured CA for its own identity connects; a certificate naming another station is refused.
func TestTLSSecurityProfile3(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scert, skey := ca.issue(t, "evcs", true)
	cfg := config.Config{Listen: "127.0.0.1:0", DB: "sqlite:" + filepath.Join(dir, "evcs.db"), AdminToken: testAdminToken, LogFormat: "text", LogLevel: "warn",
		CallTimeout: 5 * time.Second, Heartbeat: 300 * time.Second, MinBalance: "0", HoldAmount: "20",
		TLSCert: write("server.pem", scert), TLSKey: write("server.key", skey), ClientCA: write("ca.pem", ca.pem)}
	m := &Main{Cfg: cfg, Stderr: testWriter{t}}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	client := func(cn string) *http.Client {
		c, k := ca.issue(t, cn, false)
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}}
	}
	s := &testServer{t: t, M: m, Base: "https://" + m.Addr(), Token: testAdminToken}
	http.DefaultClient = client("admin") // the API over TLS (no client cert needed, one given is fine)
	defer func() { http.DefaultClient = &http.Client{} }()
	s.fleet("TAG-TLS", "TLS-1")
	dial := func(cn string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "wss://"+m.Addr()+"/ocpp/TLS-1", &websocket.DialOptions{HTTPClient: client(cn), Subprotocols: []string{"ocpp2.0.1"}})
		if err == nil {
			ws.CloseNow()
		}
		return err
	}
	if err := dial("TLS-1"); err != nil {
		t.Fatalf("station with its own certificate refused: %v", err)
	}
	if err := dial("TLS-2"); err == nil {
		t.Fatal("a certificate naming another station was accepted")
	}
}
