package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/config"
	"github.com/evcs/evcs/internal/demo"
	"github.com/evcs/evcs/internal/httpapi"
	"github.com/evcs/evcs/internal/obs"
	"github.com/evcs/evcs/internal/ocpp/csms16"
	"github.com/evcs/evcs/internal/ocpp/csms201"
	"github.com/evcs/evcs/internal/ocpp/csms21"
	"github.com/evcs/evcs/internal/ocpp/wsserver"
	"github.com/evcs/evcs/internal/store/opendb"
	"github.com/evcs/evcs/internal/store/sqlstore"
)

// Main is one running EVCS: tests start it on port 0 with a temp database.
type Main struct {
	Cfg    config.Config
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	GC     string // what the collector's tuner does (gctune.Start), for the start-up line

	Store *sqlstore.DB
	App   *app.App
	OCPP  *wsserver.Server

	scheme string

	shutdownOnce sync.Once
	shutdownErr  error
	stopDemo     context.CancelFunc
	demoDone     chan struct{}
	srv          *http.Server
	ln           net.Listener
	done         chan error
}

// Start opens the store (applying migrations), wires everything and starts listening.
func (m *Main) Start(ctx context.Context) error {
	if m.Stderr == nil {
		m.Stderr = io.Discard
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Log == nil {
		m.Log = obs.NewLogger(m.Stderr, m.Cfg.LogFormat, m.Cfg.LogLevel)
	}
	if m.Cfg.Demo {
		if err := m.demoConfig(); err != nil {
			return err
		}
	}
	s, err := opendb.Open(ctx, m.Cfg.DB)
	if err != nil {
		return err
	}
	m.Store = s
	m.App = app.New(obs.InstrumentStore(s), nil, m.Log) // timed transactions, counted ledger postings (/metrics)
	m.App.Settings = app.Settings{HeartbeatInterval: m.Cfg.Heartbeat, MinBalance: m.Cfg.MinBalance, HoldAmount: m.Cfg.HoldAmount}
	rate, burst, _ := m.Cfg.OCPPRateLimit() // checked by Config.Check
	m.OCPP = wsserver.New(m.App, wsserver.Options{CallTimeout: m.Cfg.CallTimeout, RateLimit: wsserver.RateLimit{Rate: rate, Burst: burst}},
		csms21.New(m.App), csms201.New(m.App), csms16.New(m.App))
	m.App.Commander = m.OCPP
	if err := m.startCluster(ctx); err != nil {
		s.Close()
		return err
	}
	if m.Cfg.AdminToken != "" {
		if err := m.App.EnsureAdminToken(ctx, m.Cfg.AdminToken); err != nil {
			s.Close()
			return fmt.Errorf("admin token: %w", err)
		}
	}
	if m.Cfg.Demo {
		if err := demo.Seed(ctx, m.App); err != nil {
			s.Close()
			return fmt.Errorf("demo: %w", err)
		}
	}
	ln, err := net.Listen("tcp", m.Cfg.Listen)
	if err != nil {
		s.Close()
		return fmt.Errorf("listen %s: %w", m.Cfg.Listen, err)
	}
	m.ln = ln
	m.srv = &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn)}
	m.done = make(chan error, 1)
	if m.Cfg.TLSCert != "" {
		tc, err := tlsConfig(m.Cfg)
		if err != nil {
			ln.Close()
			s.Close()
			return err
		}
		m.srv.TLSConfig = tc
		m.scheme = "https"
		go func() { m.done <- m.srv.ServeTLS(ln, m.Cfg.TLSCert, m.Cfg.TLSKey) }()
	} else {
		m.scheme = "http"
		go func() { m.done <- m.srv.Serve(ln) }()
	}
	m.Log.Info("evcs listening", "addr", m.scheme+"://"+m.Addr(), "store", s.Dialect(), "version", version, "gc_headroom", cmp.Or(m.GC, "off"))
	if m.Cfg.Demo {
		var dctx context.Context
		dctx, m.stopDemo = context.WithCancel(context.Background())
		m.demoDone = make(chan struct{})
		quiet := obs.NewLogger(m.Stderr, m.Cfg.LogFormat, "warn")
		go func() { defer close(m.demoDone); demo.Play(dctx, "ws://"+m.Addr()+"/ocpp", quiet) }()
	}
	return nil
}

// Addr is the address actually listened on (useful with port 0).
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Handler is the one HTTP handler: OCPP WebSocket, REST API, health, metrics, console.
func (m *Main) Handler() http.Handler {
	metrics := obs.NewMetrics(m.Store)
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, metrics.Middleware)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := m.Store.Ping(ctx); err != nil {
			http.Error(w, "store unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	r.Handle("/metrics", metrics.Handler())
	httpapi.MountDocs(r) // /docs: the API reference, offline
	r.Handle("/ocpp/*", m.OCPP)
	r.Group(func(r chi.Router) {
		r.Use(maxBody(1<<20), httpapi.DefaultJSON)
		httpapi.Mount(r, m.App, version)
	})
	for _, mount := range mounts {
		mount(m, r)
	}
	return r
}

// mounts lets other files of this package add routes (OCPP, console).
var mounts []func(*Main, chi.Router)

// maxImport is the body limit of bulk imports: a file of tens of thousands of rows.
const maxImport = 64 << 20

func maxBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			limit := n
			if r.URL.Path == httpapi.Prefix+"/imports" {
				limit = maxImport
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

// Shutdown stops accepting, lets in-flight requests finish (up to ctx), and closes the store.
// Calling it again returns the first call's result.
func (m *Main) Shutdown(ctx context.Context) error {
	m.shutdownOnce.Do(func() { m.shutdownErr = m.shutdown(ctx) })
	return m.shutdownErr
}

func (m *Main) shutdown(ctx context.Context) error {
	var err error
	if m.stopDemo != nil {
		m.stopDemo()
		<-m.demoDone
	}
	// Background work and long-lived streams (the console's SSE) end first: http.Server's
	// Shutdown waits for every open request, and a stream never finishes by itself.
	for _, f := range shutdowns {
		f(m)
	}
	if m.srv != nil {
		err = m.srv.Shutdown(ctx)
	}
	if m.OCPP != nil {
		m.OCPP.Close() // hijacked WebSockets are not closed by Shutdown
	}
	if m.App != nil {
		m.App.Close()
	}
	if m.Store != nil {
		err = errors.Join(err, m.Store.Close())
	}
	return err
}

// shutdowns lets other files of this package stop what they started; they run before the
// HTTP server drains.
var shutdowns []func(*Main)

// Run starts and serves until ctx ends (SIGINT/SIGTERM), then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "EVCS %s listening on %s://%s (store: %s)\n", version, m.scheme, m.Addr(), m.Store.Dialect())
	if m.Cfg.Demo {
		m.printDemo()
	}
	select {
	case <-ctx.Done():
	case err := <-m.done:
		if !errors.Is(err, http.ErrServerClosed) {
			_ = m.Shutdown(context.Background())
			return err
		}
	}
	m.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return m.Shutdown(sctx)
}
