// Package obs holds logging set-up and Prometheus metrics shared by the edges.
package obs

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
)

// NewLogger builds the process logger: text on a terminal, JSON otherwise (format "auto").
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(ContextHandler(slog.NewTextHandler(w, opts)))
	}
	return slog.New(ContextHandler(slog.NewJSONHandler(w, opts)))
}

// Metrics is the process's Prometheus registry and the HTTP metrics.
type Metrics struct {
	Reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics builds a registry with Go/process collectors, HTTP metrics and the store's pool.
func NewMetrics(s store.Store) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "evcs_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "code"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "evcs_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	gauge := func(name, help string, f func(store.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(s.Stats()) }))
	}
	gauge("evcs_store_open_connections", "Open store connections.", func(s store.Stats) float64 { return float64(s.OpenConns) })
	gauge("evcs_store_in_use_connections", "Store connections in use.", func(s store.Stats) float64 { return float64(s.InUse) })
	gauge("evcs_store_idle_connections", "Idle store connections.", func(s store.Stats) float64 { return float64(s.Idle) })
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "evcs_store_wait_count_total", Help: "Waits for a store connection."}, func() float64 { return float64(s.Stats().WaitCount) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "evcs_store_wait_seconds_total", Help: "Time waited for store connections."}, func() float64 { return s.Stats().WaitDuration.Seconds() }))
	reg.MustRegister(shared...)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "evcs_sessions_active", Help: "Charging sessions running (read from the store at scrape time; -1 when the store cannot answer)."},
		func() float64 { return activeSessions(s) }))
	return m
}

// activeSessions counts running sessions in the store: the store, not an in-memory counter,
// so the figure survives restarts and is right with several nodes on one database.
func activeSessions(s store.Store) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n := 0
	err := s.View(ctx, func(tx store.Tx) error {
		q := store.Query{Filter: map[string]string{"status": charging.Active}, Limit: 500}
		for {
			items, next, err := tx.Sessions().List(ctx, q)
			if err != nil {
				return err
			}
			n += len(items)
			if next == "" {
				return nil
			}
			q.Cursor = next
		}
	})
	if err != nil {
		return -1
	}
	return float64(n)
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Reg, promhttp.HandlerOpts{Registry: m.Reg})
}

// Middleware counts and times requests by chi route pattern (never by raw path: ids would
// explode the label set). WebSocket upgrades are counted when they end.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.code)).Inc()
		m.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController (and WebSocket hijacking) reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
