// Package wsserver accepts stations' OCPP-J WebSocket connections at /ocpp/{stationId}: it
// picks the subprotocol, authenticates the station, keeps the registry of connections, runs
// each connection's read loop and hands CALLs to the version's Protocol (csms16, csms201,
// csms21). Server-initiated calls go through Conn.Call and never block the read loop.
package wsserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Protocol is one OCPP version's route table and command translation.
type Protocol interface {
	Version() ocppj.Version
	// Handle answers an inbound CALL: the payload of the CALLRESULT, or an error to send as CALLERROR.
	Handle(ctx context.Context, c *Conn, action string, payload []byte) ([]byte, *ocppj.Error)
	// Command turns an operator command into this version's action and sends it.
	Command(ctx context.Context, c *Conn, req app.CommandRequest) (action string, result json.RawMessage, status string, err error)
	// ValidateResponse checks a station's CALLRESULT to a call we sent.
	ValidateResponse(action string, payload []byte) *ocppj.Error
}

// Options tune the server.
type Options struct {
	CallTimeout time.Duration // a call to a station waits this long for its answer
	IdleTimeout time.Duration // a connection silent this long is closed
	MaxMessage  int64         // largest frame accepted
	RateLimit   RateLimit     // per-station message rate (zero value: DefaultRateLimit; Rate < 0: off)
}

// Server is the OCPP endpoint.
type Server struct {
	app    *app.App
	protos map[ocppj.Version]Protocol
	order  []ocppj.Version
	opts   Options
	log    *slog.Logger

	peers Peers // nil: a single node

	mu       sync.Mutex
	conns    map[string]*Conn
	arrivals atomic.Uint64
	wg       sync.WaitGroup
	done     chan struct{}
}

// New builds the server for the given protocols.
func New(a *app.App, opts Options, protos ...Protocol) *Server {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 30 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2*a.Settings.HeartbeatInterval + time.Minute
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = 1 << 20
	}
	s := &Server{app: a, protos: map[ocppj.Version]Protocol{}, opts: opts, log: a.Log, conns: map[string]*Conn{}, done: make(chan struct{})}
	for _, p := range protos {
		s.protos[p.Version()] = p
	}
	for _, v := range ocppj.Versions { // highest first
		if _, ok := s.protos[v]; ok {
			s.order = append(s.order, v)
		}
	}
	return s
}

// ServeHTTP accepts a station. The identity is the last path segment, URL-decoded.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The handler itself counts too: once Accept has hijacked the connection, the HTTP
	// server no longer waits for this goroutine, so Close does (the race detector caught a
	// test's teardown running while a handler was still returning).
	s.wg.Add(1)
	defer s.wg.Done()
	arrival := s.arrivals.Add(1)
	id, err := identity(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	v, ok := s.pick(r.Header.Values("Sec-WebSocket-Protocol"))
	if !ok {
		http.Error(w, "no supported OCPP subprotocol offered (ocpp2.1, ocpp2.0.1, ocpp1.6)", http.StatusBadRequest)
		return
	}
	pw := basicPassword(r, id)
	st, err := s.app.StationAuth(r.Context(), id, pw)
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Unauthorized:
			w.Header().Set("WWW-Authenticate", `Basic realm="OCPP", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case errs.NotFound, errs.Forbidden:
			// Unknown stations are told as little as wrong passwords are.
			w.Header().Set("WWW-Authenticate", `Basic realm="OCPP", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		default:
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}
		s.log.Info("station refused", "station", id, "reason", err.Error(), "remote", r.RemoteAddr)
		return
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && r.TLS.PeerCertificates[0].Subject.CommonName != st.ID {
		http.Error(w, "client certificate does not name this station", http.StatusUnauthorized)
		return
	}
	lw := &leanWriter{ResponseWriter: w}
	ws, err := websocket.Accept(lw, r, &websocket.AcceptOptions{Subprotocols: []string{v.Subprotocol()}, InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered
	}
	ws.SetReadLimit(s.opts.MaxMessage)
	c := newConn(s, ws, lw.conn, id, s.protos[v], r.RemoteAddr)
	c.arrival = arrival
	if !s.register(c) {
		return
	}
	// The handshake is over: the HTTP server's goroutine, request and buffers are let go, and
	// the connection lives on in its own read loop (see Conn.step).
	s.wg.Add(1)
	c.run(func() {
		s.unregister(c)
		s.wg.Done()
	})
}

func (s *Server) pick(headers []string) (ocppj.Version, bool) {
	offered := map[ocppj.Version]bool{}
	for _, h := range headers {
		for _, p := range strings.Split(h, ",") {
			if v, ok := ocppj.ParseSubprotocol(strings.TrimSpace(p)); ok {
				offered[v] = true
			}
		}
	}
	for _, v := range s.order {
		if offered[v] {
			return v, true
		}
	}
	return 0, false
}

func identity(r *http.Request) (string, error) {
	p := strings.TrimSuffix(r.URL.EscapedPath(), "/")
	i := strings.LastIndexByte(p, '/')
	id, err := url.PathUnescape(p[i+1:])
	if err != nil || id == "" || id == "ocpp" {
		return "", errors.New("the URL must end with the station identity: /ocpp/{stationId}")
	}
	return id, nil
}

// basicPassword returns the Basic-auth password when the username is the station identity.
// The identity may contain ':' so the password is what follows "id:", not the first colon.
func basicPassword(r *http.Request, id string) *string {
	h := r.Header.Get("Authorization")
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return nil
	}
	pw, ok := strings.CutPrefix(string(raw), id+":")
	if !ok {
		return nil
	}
	return &pw
}

// register makes c the station's connection, replacing an older one. Registration happens
// after the handshake, so two quick connects may register out of order: the one whose request
// came last wins, and register reports false for the loser (already closed).
func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	old := s.conns[c.StationID]
	if old != nil && old.arrival > c.arrival {
		s.mu.Unlock()
		c.close(websocket.StatusPolicyViolation, "replaced by a new connection")
		return false
	}
	s.conns[c.StationID] = c
	c.since = time.Now()
	s.mu.Unlock()
	if s.peers != nil {
		// Stored before the station's first message is read: from then on any node finds it.
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		if err := s.peers.Claim(ctx, c.StationID, c.Version().Subprotocol()); err != nil {
			s.log.Warn("station presence not stored yet", "station", c.StationID, "err", err)
		}
		cancel()
	}
	if old != nil {
		// A station connecting again replaces its old connection. The close handshake may wait
		// for a peer that is gone; the new connection must not wait with it.
		go old.close(websocket.StatusPolicyViolation, "replaced by a new connection")
	}
	s.log.Info("station connected", "station", c.StationID, "protocol", c.Version().Subprotocol(), "remote", c.remote)
	s.app.Bus.Publish(app.Event{Kind: "station.connected", StationID: c.StationID, Data: c.Version().Subprotocol()})
	return true
}

func (s *Server) unregister(c *Conn) {
	s.mu.Lock()
	current := s.conns[c.StationID] == c
	if current {
		delete(s.conns, c.StationID)
	}
	s.mu.Unlock()
	if current && s.peers != nil {
		s.peers.Release(c.StationID)
	}
	s.log.Info("station disconnected", "station", c.StationID)
	s.app.Bus.Publish(app.Event{Kind: "station.disconnected", StationID: c.StationID})
}

// Conn returns a station's live connection.
func (s *Server) Conn(stationID string) (*Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[stationID]
	return c, ok
}

// Connected implements app.StationCommander: connected to this node or, in a cluster, to
// another live node.
func (s *Server) Connected(stationID string) (string, bool) {
	if c, ok := s.Conn(stationID); ok {
		return c.Version().Subprotocol(), true
	}
	if s.peers != nil {
		if _, proto, ok := s.peers.Lookup(stationID); ok {
			return proto, true
		}
	}
	return "", false
}

// Peers is the cluster as the OCPP server sees it (internal/cluster implements it): where
// stations connected to other nodes are, and the way to command them.
type Peers interface {
	// Claim records a station as connected here; Release as gone from here.
	Claim(ctx context.Context, stationID, protocol string) error
	Release(stationID string)
	// Lookup finds a station held by another live node.
	Lookup(stationID string) (node, protocol string, ok bool)
	// Command relays a command to the node holding the station.
	Command(ctx context.Context, stationID string, req app.CommandRequest) (string, json.RawMessage, string, error)
}

// SetPeers joins the server to a cluster; call it before the server accepts stations.
func (s *Server) SetPeers(p Peers) { s.peers = p }

// LocalStations lists the stations connected to this node, with their protocol.
func (s *Server) LocalStations() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.conns))
	for id, c := range s.conns {
		out[id] = c.Version().Subprotocol()
	}
	return out
}

// Evict closes a station's connection here if it was registered before since: the station
// connected to another node since then, and this socket is what is left of the old one.
func (s *Server) Evict(stationID string, since time.Time) {
	s.mu.Lock()
	c, ok := s.conns[stationID]
	stale := ok && c.since.Before(since)
	s.mu.Unlock()
	if stale {
		s.log.Info("station moved to another node", "station", stationID)
		c.close(websocket.StatusPolicyViolation, "replaced by a connection to another node")
	}
}

// Count is the number of connected stations.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Command implements app.StationCommander: on this node's connection, else relayed to the
// node holding the station.
func (s *Server) Command(ctx context.Context, stationID string, req app.CommandRequest) (string, json.RawMessage, string, error) {
	if _, ok := s.Conn(stationID); ok || s.peers == nil {
		return s.LocalCommand(ctx, stationID, req)
	}
	return s.peers.Command(ctx, stationID, req)
}

// LocalCommand sends a command on this node's connection to the station (never relayed).
func (s *Server) LocalCommand(ctx context.Context, stationID string, req app.CommandRequest) (string, json.RawMessage, string, error) {
	c, ok := s.Conn(stationID)
	if !ok {
		return "", nil, "", errs.E(errs.Conflict, "station %s is not connected", stationID)
	}
	return c.proto.Command(ctx, c, req)
}

// Close disconnects every station and waits for their read loops to end.
func (s *Server) Close() {
	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var closing sync.WaitGroup
	for _, c := range conns {
		closing.Add(1)
		go func() { defer closing.Done(); c.close(websocket.StatusGoingAway, "server shutting down") }()
	}
	closing.Wait()
	s.wg.Wait()
}

var _ io.Closer = (*Conn)(nil)
