package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/evcs/evcs/internal/config"
)

// tlsConfig serves OCPP security profile 2 (TLS, stations authenticate with Basic auth) and,
// with --client-ca, profile 3 (stations present a client certificate whose common name is
// their identity; the OCPP server checks the name against the URL). TLS 1.2 is the minimum.
func tlsConfig(c config.Config) (*tls.Config, error) {
	if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.ClientCA != "" {
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("--client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca %s: no PEM certificates in it", c.ClientCA)
		}
		tc.ClientCAs = pool
		// Certificates are verified when given; stations of profile 2 on the same listener keep
		// using Basic auth, and the API and console need none.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}
