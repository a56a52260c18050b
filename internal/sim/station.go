package sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// ErrOffline means the station has no booted connection. A transaction message that meets it
// is not lost: it stays queued and is replayed, with its message id, after the next boot.
var ErrOffline = errors.New("sim: station offline")

// ErrBusy is returned when a session is started on an EVSE that already has one.
var ErrBusy = errors.New("sim: evse busy")

const (
	writeTimeout = 10 * time.Second
	dialTimeout  = 15 * time.Second
	readLimit    = 1 << 20
)

// Station is one simulated charging station. Drive it step by step (Connect, Boot,
// SendStatusAll, Authorize, StartCharging, SendMeterValues, StopCharging, Close) or let Run
// manage it (reconnects, heartbeats, replay, sessions or load). Methods are safe for
// concurrent use; session steps on one EVSE are serialised.
type Station struct {
	cfg      Config
	id       string
	ver      ocppj.Version
	log      *slog.Logger
	stats    *Stats
	msgIDPre string
	msgSeq   atomic.Uint64

	q        txQueue
	flushSem chan struct{}
	rebootCh chan struct{} // Reset accepted: the supervisor reconnects and boots again
	bootNow  chan struct{} // TriggerMessage BootNotification while Pending/Rejected
	hbCh     chan struct{} // heartbeat interval changed

	bgCtx    context.Context // lifetime of follow-up goroutines (remote start, triggers)
	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	mu           sync.Mutex
	rng          *rand.Rand
	conn         *conn
	online       chan struct{} // closed while booted on the current connection
	booted       bool
	everBooted   bool
	bootReason   string
	hbEvery      time.Duration
	evses        []*EVSE
	vars         []*variable
	profiles     []chargingProfile
	listVersion  int
	reservations map[int]int // reservation id → EVSE id
	pendingReset bool
	closed       bool
	lastResp     map[string]json.RawMessage
	lastErr      error
}

// NewStation returns a station with identity id, not yet connected. cfg gets its defaults.
func NewStation(cfg Config, id string) (*Station, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return newStation(cfg, id, nil, cfg.Seed), nil
}

func newStation(cfg Config, id string, stats *Stats, seed int64) *Station {
	if seed == 0 {
		seed = rand.Int64()
	}
	s := &Station{
		cfg: cfg, id: id, ver: cfg.Protocol, stats: stats,
		log:          cfg.Log.With("station", id),
		msgIDPre:     strconv.FormatUint(rand.Uint64()%(36*36*36*36*36*36), 36) + "-",
		flushSem:     make(chan struct{}, 1),
		rebootCh:     make(chan struct{}, 1),
		bootNow:      make(chan struct{}, 1),
		hbCh:         make(chan struct{}, 1),
		rng:          rand.New(rand.NewPCG(uint64(seed), uint64(len(id))^0x9e3779b97f4a7c15)),
		online:       make(chan struct{}),
		hbEvery:      cfg.HeartbeatInterval,
		bootReason:   "PowerUp",
		reservations: map[int]int{},
		lastResp:     map[string]json.RawMessage{},
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	for i := 1; i <= cfg.EVSEs; i++ {
		s.evses = append(s.evses, &EVSE{ID: i, status: "Available", meter: NewMeter(cfg.Kind, s.rng)})
	}
	s.vars = defaultVariables(s)
	return s
}

// ID is the station's OCPP identity.
func (s *Station) ID() string { return s.id }

// Version is the OCPP version the station speaks.
func (s *Station) Version() ocppj.Version { return s.ver }

// conn is one WebSocket connection and its RPC state.
type conn struct {
	s      *Station
	ws     *websocket.Conn
	caller *ocppj.Caller
	sem    chan struct{} // one CALL at a time with an id we choose (see call)
	nextID string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the read loop has ended
	err    error         // why it ended; read after done
}

// Connect dials the CSMS (URL + "/" + identity, offering only the configured subprotocol, with
// Basic auth when a password is set) and starts the read loop. It does not boot.
func (s *Station) Connect(ctx context.Context) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed || s.conn != nil {
		s.mu.Unlock()
		c.ws.CloseNow()
		return errors.New("sim: " + s.id + ": already connected or closed")
	}
	s.conn = c
	s.mu.Unlock()
	go c.readLoop()
	return nil
}

func (s *Station) dial(ctx context.Context) (*conn, error) {
	u := strings.TrimRight(s.cfg.URL, "/") + "/" + url.PathEscape(s.id)
	hdr := http.Header{}
	if s.cfg.Password != "" {
		hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.id+":"+s.cfg.Password)))
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		Subprotocols: []string{s.ver.Subprotocol()},
		HTTPHeader:   hdr,
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("sim: %s: connect %s: HTTP %d: %w", s.id, u, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("sim: %s: connect %s: %w", s.id, u, err)
	}
	if ws.Subprotocol() != s.ver.Subprotocol() {
		ws.Close(websocket.StatusProtocolError, "subprotocol not accepted")
		return nil, fmt.Errorf("sim: %s: CSMS did not accept subprotocol %s", s.id, s.ver.Subprotocol())
	}
	ws.SetReadLimit(readLimit)
	c := &conn{s: s, ws: ws, sem: make(chan struct{}, 1), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.caller = ocppj.NewCaller(c.write, s.cfg.CallTimeout, func() string { return c.nextID })
	return c, nil
}

// Close ends the connection (normal closure) and stops follow-up work; Run returns.
func (s *Station) Close() error {
	s.mu.Lock()
	s.closed = true
	c := s.conn
	s.mu.Unlock()
	s.bgCancel()
	if c != nil {
		c.close(websocket.StatusNormalClosure, "")
		<-c.done
	}
	s.bg.Wait()
	return nil
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.ws.Close(code, reason)
	c.cancel()
}

func (c *conn) write(frame []byte) error {
	c.s.frame(true, frame)
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, frame); err != nil {
		return fmt.Errorf("%w: %v", ErrOffline, err)
	}
	return nil
}

func (s *Station) frame(out bool, b []byte) {
	if s.cfg.OnFrame != nil {
		s.cfg.OnFrame(s.id, out, b)
	}
}

// readLoop is the connection's only reader. It hands replies to the Caller and answers the
// CSMS's calls itself; handlers never wait for a CALLRESULT (follow-ups run elsewhere).
func (c *conn) readLoop() {
	s := c.s
	defer func() {
		s.detach(c) // first: whatever a failed call does next already sees the station offline
		c.caller.Close(ErrOffline)
		c.cancel()
		close(c.done)
	}()
	for {
		_, data, err := c.ws.Read(c.ctx)
		if err != nil {
			c.err = err
			return
		}
		s.frame(false, data)
		m, perr := ocppj.DecodeVersion(s.ver, data)
		if perr != nil {
			if id, ok := ocppj.ErrorReply(s.ver, m, perr); ok {
				c.write(ocppj.AppendError(nil, id, perr.Kind.Code(s.ver), perr.Msg, nil))
			}
			continue
		}
		switch m.Type {
		case ocppj.TypeCallResult, ocppj.TypeCallError:
			c.caller.Deliver(m)
		case ocppj.TypeCall:
			s.handleCall(c, m)
		}
	}
}

// detach forgets c once its read loop ended: the station is offline until the next boot.
func (s *Station) detach(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c {
		return
	}
	s.conn = nil
	s.setOfflineLocked()
	if c.err != nil && s.lastErr == nil {
		s.lastErr = c.err
	}
}

// lost takes the station offline after a failed send on c and drops c, so that the supervisor
// reconnects, boots and replays the queue.
func (s *Station) lost(c *conn) {
	s.mu.Lock()
	if s.conn == c {
		s.setOfflineLocked()
	}
	s.mu.Unlock()
	go c.close(websocket.StatusGoingAway, "send failed")
}

func (s *Station) setOfflineLocked() {
	if s.booted {
		s.booted = false
		s.online = make(chan struct{})
	}
}

// Online reports whether the station is connected and booted.
func (s *Station) Online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.booted
}

// WaitOnline blocks until the station is connected and its boot was accepted.
func (s *Station) WaitOnline(ctx context.Context) error {
	s.mu.Lock()
	ch := s.online
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ready is the connection to send on once booted, or nil.
func (s *Station) ready() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.booted {
		return nil
	}
	return s.conn
}

func (s *Station) newMsgID() string {
	return s.msgIDPre + strconv.FormatUint(s.msgSeq.Add(1), 10)
}

// call sends one CALL with message id id on c and waits for its reply. It goes through the
// shared ocppj.Caller; the semaphore makes this call the only one using it, so the Caller's id
// generator can hand out the id we chose (replays must reuse their original id).
func (c *conn) call(ctx context.Context, id, action string, payload []byte) (json.RawMessage, error) {
	s := c.s
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, ErrOffline
	}
	c.nextID = id
	start := time.Now()
	resp, err := c.caller.Call(ctx, action, payload)
	rtt := time.Since(start)
	<-c.sem
	if err != nil {
		if ctx.Err() == nil { // our own shutdown is not the CSMS's error
			s.stats.fail()
		}
		s.log.Debug("call failed", "action", action, "id", id, "err", err)
		return nil, err
	}
	if verr := validateResponse(s.ver, action, resp); verr != nil {
		s.stats.fail()
		s.log.Warn("CSMS reply fails the schema", "action", action, "err", verr)
	} else {
		s.stats.ok(rtt)
	}
	s.mu.Lock()
	s.lastResp[action] = resp
	s.mu.Unlock()
	return resp, nil
}

// Call sends any CALL once booted (not queued) and returns the CSMS's reply payload.
func (s *Station) Call(ctx context.Context, action string, payload any) (json.RawMessage, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	c := s.ready()
	if c == nil {
		return nil, ErrOffline
	}
	return c.call(ctx, s.newMsgID(), action, b)
}

// LastResponse is the last CALLRESULT payload the CSMS sent for action (nil if none).
func (s *Station) LastResponse(action string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastResp[action]
}

func isOffline(err error) bool {
	return errors.Is(err, ErrOffline) || errors.Is(err, ocppj.ErrClosed)
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }
