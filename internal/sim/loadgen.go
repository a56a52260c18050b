package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Load mixes: what the stations of a load run (Config.Load) do once booted.
const (
	// MixClosed is the closed loop: Heartbeat, Authorize, StatusNotification, start,
	// 3 × meter values, stop, StatusNotification, repeat, each call sent as soon as the previous
	// one is answered. It measures how fast the CSMS answers.
	MixClosed = "closed"
	// MixRealistic is open loop: each station follows its own clock, however fast the CSMS
	// answers: idle for 1–4 meter intervals, Authorize, start, a meter value every interval
	// (drawn per session between MeterInterval/6 and MeterInterval, 10–60 s by default) for
	// 5–30 intervals, stop; a Heartbeat whenever the interval the CSMS gave at boot is due.
	MixRealistic = "realistic"
	// MixIdle boots, reports its connectors and then only sends Heartbeats: connection count
	// and idle memory.
	MixIdle = "idle"
)

// The load generator's stations are lean state machines, not full Stations: one goroutine
// each, waiting in a read whose deadline is the next message due, a minimal WebSocket client
// (wsclient.go) and a few dozen bytes of state, so that 100,000 of them fit in one process.
// They speak the messages of the mix only; a CSMS call is answered Accepted for charging
// profiles and NotSupported otherwise. Sessions run on EVSE 1.
type loadStation struct {
	run *loadRun
	id  string
	tag string // the idTag it charges with
	src int    // index of the source address
	c   *wsConn
	rng uint64

	seq     uint64 // message ids on this connection
	await   uint64 // id of the call in flight (0: none)
	awaitOp uint8
	sentAt  time.Time

	op         uint8     // next step
	due        time.Time // when it is due
	k          int       // boot StatusNotification: next connector
	booted     bool
	everBooted bool
	hbEvery    time.Duration
	hbDue      time.Time
	meterLeft  int
	meterDt    time.Duration
	seqNo      int // 2.x TransactionEvent seqNo
	txID       string
	energyWh   int64
	powerW     int64
}

const (
	opNone uint8 = iota
	opBoot
	opStatusBoot
	opHeartbeat
	opAuthorize
	opStatusBusy
	opStart
	opMeter
	opStop
	opStatusFree
)

var opAction = [...]string{opBoot: "BootNotification", opStatusBoot: "StatusNotification", opHeartbeat: "Heartbeat",
	opAuthorize: "Authorize", opStatusBusy: "StatusNotification", opStart: "StartTransaction", opMeter: "MeterValues",
	opStop: "StopTransaction", opStatusFree: "StatusNotification"}

// loadRun is what a run's stations share.
type loadRun struct {
	cfg     Config
	stats   *Stats
	dialers []*net.Dialer
}

func (r *loadRun) action(op uint8) string {
	if r.cfg.Protocol != ocppj.V16 && (op == opStart || op == opMeter || op == opStop) {
		return "TransactionEvent"
	}
	return opAction[op]
}

func newLoadStation(r *loadRun, i int, seed int64) *loadStation {
	st := &loadStation{run: r, id: r.cfg.StationID(i), tag: r.cfg.TagOf(i), src: i % len(r.dialers), rng: uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(i+1)}
	if st.rng == 0 {
		st.rng = 1
	}
	st.energyWh = int64(st.rand(5_000_000))
	return st
}

// rand returns a number in [0, n) from the station's xorshift generator.
func (st *loadStation) rand(n uint64) uint64 {
	x := st.rng
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	st.rng = x
	return x % n
}

// runLoad keeps the station connected until ctx ends: connect (backoff with jitter after a
// failure), boot, run the mix; after a drop, start over.
func (st *loadStation) runLoad(ctx context.Context) {
	cfg := st.run.cfg
	backoff := cfg.BackoffMin
	for ctx.Err() == nil {
		var err error
		shallow(func() { err = st.connect(ctx) })
		if err == nil {
			err = st.serve(ctx)
			if st.booted {
				backoff = cfg.BackoffMin
			}
		}
		if ctx.Err() != nil {
			return
		}
		st.run.stats.fail()
		cfg.Log.Debug("load station: connection lost or refused", "station", st.id, "err", err)
		d := backoff/2 + time.Duration(st.rand(uint64(backoff/2)+1))
		if !sleepCtx(ctx, d) {
			return
		}
		backoff = min(backoff*2, cfg.BackoffMax)
	}
}

func (st *loadStation) connect(ctx context.Context) error {
	cfg := st.run.cfg
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := dialWS(dctx, st.run.dialers[st.src], cfg.URL+"/"+st.id, cfg.Protocol.Subprotocol(), st.id, cfg.Password)
	if err != nil {
		return err
	}
	st.c = c
	st.run.stats.opened()
	return nil
}

// serve runs one connection. It waits in a read whose deadline is whatever comes next (the
// next message due, or the answer's timeout); the end of ctx sets that deadline to now.
func (st *loadStation) serve(ctx context.Context) error {
	c := st.c
	defer func() { c.close(); st.c = nil; st.run.stats.closed() }()
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetReadDeadline(time.Now()) })
	defer stop()
	st.booted, st.await, st.op, st.due, st.seq = false, 0, opBoot, time.Now(), 0
	cfg := st.run.cfg
	for {
		if ctx.Err() != nil {
			_ = c.write(0x8, []byte{0x03, 0xe8}, time.Second) // normal closure
			return nil
		}
		now := time.Now()
		var next time.Time
		if st.await != 0 {
			next = st.sentAt.Add(cfg.CallTimeout)
			if !now.Before(next) { // counted as an error by runLoad, as a lost connection is
				return errors.New("sim: " + st.run.action(st.awaitOp) + " got no answer in time")
			}
		} else {
			op, when := st.nextOp()
			if op != opNone && !now.Before(when) {
				var err error
				shallow(func() { err = st.send(op, now) })
				if err != nil {
					return err
				}
				continue
			}
			next = when
		}
		_ = c.nc.SetReadDeadline(next) // zero: no deadline (nothing due)
		msg, err := c.next(writeTimeout)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return err
		}
		shallow(func() { err = st.handle(msg) })
		if err != nil {
			return err
		}
	}
}

// shallow runs f on a goroutine of its own and waits for it. Dialing, decoding and checking
// an answer against its schema run deep and would grow the station's goroutine stack to
// 8–16 KiB, which an idle station would then keep; a goroutine that ends gives its stack back,
// and the station's own one stays at the few KiB that waiting in a read takes.
func shallow(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// nextOp is the step to send next and when: a due Heartbeat comes first (realistic and idle
// mixes).
func (st *loadStation) nextOp() (uint8, time.Time) {
	if st.booted && st.run.cfg.Mix != MixClosed && !st.hbDue.IsZero() && (st.op == opNone || st.hbDue.Before(st.due)) {
		return opHeartbeat, st.hbDue
	}
	return st.op, st.due
}

func (st *loadStation) send(op uint8, now time.Time) error {
	st.seq++
	id := strconv.FormatUint(st.seq, 10)
	action := st.run.action(op)
	frame := ocppj.AppendCall(nil, id, action, st.payload(op))
	if st.run.cfg.OnFrame != nil {
		st.run.cfg.OnFrame(st.id, true, frame)
	}
	st.await, st.awaitOp, st.sentAt = st.seq, op, now
	if op == opHeartbeat {
		st.hbDue = time.Time{} // set again from the answer
	}
	return st.c.write(0x1, frame, writeTimeout)
}

// handle takes one frame from the CSMS: the answer to the call in flight, or a call.
func (st *loadStation) handle(frame []byte) error {
	cfg := st.run.cfg
	if cfg.OnFrame != nil {
		cfg.OnFrame(st.id, false, frame)
	}
	m, perr := ocppj.DecodeVersion(cfg.Protocol, frame)
	if perr != nil {
		if id, ok := ocppj.ErrorReply(cfg.Protocol, m, perr); ok {
			return st.c.write(0x1, ocppj.AppendError(nil, id, perr.Kind.Code(cfg.Protocol), perr.Msg, nil), writeTimeout)
		}
		return nil
	}
	switch m.Type {
	case ocppj.TypeCall:
		return st.answerCall(m)
	case ocppj.TypeCallResult, ocppj.TypeCallError:
		if st.await == 0 || m.ID != strconv.FormatUint(st.await, 10) {
			return nil // a late answer to a call that timed out
		}
		rtt := time.Since(st.sentAt)
		op := st.awaitOp
		st.await = 0
		if m.Type == ocppj.TypeCallError {
			st.run.stats.fail()
			st.advance(op, nil, false)
			return nil
		}
		if verr := validateResponse(cfg.Protocol, st.run.action(op), m.Payload); verr != nil {
			st.run.stats.fail()
		} else {
			st.run.stats.ok(rtt)
		}
		st.advance(op, m.Payload, true)
	}
	return nil
}

func (st *loadStation) answerCall(m ocppj.Message) error {
	v := st.run.cfg.Protocol
	var out []byte
	switch m.Action {
	case "SetChargingProfile", "ClearChargingProfile":
		out = ocppj.AppendResult(nil, m.ID, []byte(`{"status":"Accepted"}`))
	default:
		out = ocppj.AppendError(nil, m.ID, ocppj.NotSupported.Code(v), "not supported by the load generator", nil)
	}
	return st.c.write(0x1, out, writeTimeout)
}

// advance moves the state machine on after the answer to op (ok=false: a CALLERROR).
func (st *loadStation) advance(op uint8, res json.RawMessage, ok bool) {
	cfg := st.run.cfg
	now := time.Now()
	switch op {
	case opBoot:
		var r struct {
			Status   string `json:"status"`
			Interval int    `json:"interval"`
		}
		_ = json.Unmarshal(res, &r)
		if !ok || r.Status != "Accepted" {
			st.due = now.Add(time.Duration(max(r.Interval, 10)) * time.Second)
			return
		}
		if !st.everBooted {
			st.everBooted = true
			st.run.stats.connected.Add(1)
		}
		st.booted = true
		st.hbEvery = cfg.HeartbeatInterval
		if r.Interval > 0 {
			st.hbEvery = time.Duration(r.Interval) * time.Second
		}
		st.hbDue = now.Add(st.hbEvery)
		st.k = 1
		if cfg.Protocol == ocppj.V16 {
			st.k = 0
		}
		st.op, st.due = opStatusBoot, now
	case opStatusBoot:
		st.k++
		if st.k <= cfg.EVSEs {
			st.op, st.due = opStatusBoot, now
			return
		}
		switch cfg.Mix {
		case MixClosed:
			st.op, st.due = opHeartbeat, now
		case MixRealistic:
			st.op, st.due = opAuthorize, now.Add(st.idleGap())
		default:
			st.op = opNone
		}
	case opHeartbeat:
		if cfg.Mix == MixClosed {
			st.op, st.due = opAuthorize, now
			return
		}
		st.hbDue = now.Add(st.hbEvery)
	case opAuthorize:
		if ok && authStatus(res) == "Accepted" {
			st.op, st.due = opStatusBusy, now
		} else if cfg.Mix == MixClosed {
			st.op, st.due = opHeartbeat, now
		} else {
			st.op, st.due = opAuthorize, now.Add(st.idleGap())
		}
	case opStatusBusy:
		st.op, st.due = opStart, now
	case opStart:
		if cfg.Protocol == ocppj.V16 {
			var r struct {
				TransactionID int64 `json:"transactionId"`
			}
			if !ok || json.Unmarshal(res, &r) != nil {
				st.op, st.due = opStatusFree, now // no transaction for the CSMS
				return
			}
			st.txID = strconv.FormatInt(r.TransactionID, 10)
		}
		st.meterLeft, st.meterDt = 3, cfg.SimStep
		st.op, st.due = opMeter, now
		if cfg.Mix == MixRealistic {
			lo := cfg.MeterInterval / 6
			st.meterLeft = 5 + int(st.rand(26))
			st.meterDt = lo + time.Duration(st.rand(uint64(cfg.MeterInterval-lo)+1))
			st.due = st.sentAt.Add(st.meterDt)
		}
	case opMeter:
		st.meterLeft--
		if st.meterLeft <= 0 {
			st.op = opStop
		}
		if cfg.Mix == MixRealistic {
			st.due = st.due.Add(st.meterDt) // open loop: on the station's clock, not the answer's
		} else {
			st.due = now
		}
	case opStop:
		st.op, st.due = opStatusFree, now
	case opStatusFree:
		st.txID = ""
		if cfg.Mix == MixClosed {
			st.op, st.due = opHeartbeat, now
		} else {
			st.op, st.due = opAuthorize, now.Add(st.idleGap())
		}
	}
}

// idleGap is the time between two sessions: 1–4 meter intervals.
func (st *loadStation) idleGap() time.Duration {
	return st.run.cfg.MeterInterval * time.Duration(1+st.rand(4))
}

// payload is the CALL payload of op, built by hand: no maps, no reflection.
func (st *loadStation) payload(op uint8) []byte {
	cfg := st.run.cfg
	v16 := cfg.Protocol == ocppj.V16
	ts := now()
	b := make([]byte, 0, 256)
	q := strconv.AppendQuote
	switch op {
	case opBoot:
		if v16 {
			b = append(b, `{"chargePointVendor":`...)
			b = q(b, cfg.Vendor)
			b = append(b, `,"chargePointModel":`...)
			b = q(b, cfg.Model)
			b = append(b, `,"chargePointSerialNumber":`...)
			b = q(b, truncate(st.id, 25))
			b = append(b, `,"firmwareVersion":`...)
			b = q(b, cfg.Firmware)
			return append(b, '}')
		}
		b = append(b, `{"reason":"PowerUp","chargingStation":{"vendorName":`...)
		b = q(b, cfg.Vendor)
		b = append(b, `,"model":`...)
		b = q(b, cfg.Model)
		b = append(b, `,"serialNumber":`...)
		b = q(b, truncate(st.id, 25))
		b = append(b, `,"firmwareVersion":`...)
		b = q(b, cfg.Firmware)
		return append(b, "}}"...)
	case opStatusBoot, opStatusBusy, opStatusFree:
		evse, status := 1, "Available"
		if op == opStatusBoot {
			evse = st.k
		}
		if op == opStatusBusy {
			status = "Preparing"
		}
		if v16 {
			b = append(b, `{"connectorId":`...)
			b = strconv.AppendInt(b, int64(evse), 10)
			b = append(b, `,"errorCode":"NoError","status":"`...)
			b = append(b, status...)
			b = append(b, `","timestamp":"`...)
			b = append(b, ts...)
			return append(b, `"}`...)
		}
		b = append(b, `{"timestamp":"`...)
		b = append(b, ts...)
		b = append(b, `","connectorStatus":"`...)
		b = append(b, status201(status)...)
		b = append(b, `","evseId":`...)
		b = strconv.AppendInt(b, int64(evse), 10)
		return append(b, `,"connectorId":1}`...)
	case opHeartbeat:
		return append(b, "{}"...)
	case opAuthorize:
		return append(st.appendToken(append(b, '{'), v16, ""), '}')
	case opStart:
		st.powerW = 7000 + int64(st.rand(15_001))
		if v16 {
			b = append(b, `{"connectorId":1,`...)
			b = st.appendToken(b, true, "")
			b = append(b, `,"meterStart":`...)
			b = strconv.AppendInt(b, st.energyWh, 10)
			b = append(b, `,"timestamp":"`...)
			b = append(b, ts...)
			return append(b, `"}`...)
		}
		st.txID, st.seqNo = st.uuid(), 0
		b = st.event(b, "Started", "Authorized", ts, "EVConnected", "Transaction.Begin", false)
		b = append(b, `,"evse":{"id":1,"connectorId":1},`...)
		b = st.appendToken(b, false, "")
		return append(b, '}')
	case opMeter:
		st.energyWh += st.powerW * int64(cfg.SimStep/time.Second) / 3600
		if v16 {
			b = append(b, `{"connectorId":1,"transactionId":`...)
			b = append(b, st.txID...)
			b = append(b, `,"meterValue":`...)
			b = st.meterValue(b, true, ts, "Sample.Periodic", false)
			return append(b, '}')
		}
		b = st.event(b, "Updated", "MeterValuePeriodic", ts, "Charging", "Sample.Periodic", false)
		return append(b, '}')
	case opStop:
		if v16 {
			b = append(b, `{"transactionId":`...)
			b = append(b, st.txID...)
			b = append(b, `,`...)
			b = st.appendToken(b, true, "")
			b = append(b, `,"meterStop":`...)
			b = strconv.AppendInt(b, st.energyWh, 10)
			b = append(b, `,"timestamp":"`...)
			b = append(b, ts...)
			return append(b, `","reason":"Local"}`...)
		}
		b = st.event(b, "Ended", "StopAuthorized", ts, "EVConnected", "Transaction.End", true)
		b = append(b, `,"evse":{"id":1,"connectorId":1},`...)
		b = st.appendToken(b, false, "")
		return append(b, '}')
	}
	return append(b, "{}"...)
}

func (st *loadStation) appendToken(b []byte, v16 bool, _ string) []byte {
	if v16 {
		b = append(b, `"idTag":`...)
		return strconv.AppendQuote(b, st.tag)
	}
	b = append(b, `"idToken":{"idToken":`...)
	b = strconv.AppendQuote(b, st.tag)
	b = append(b, `,"type":`...)
	b = strconv.AppendQuote(b, st.run.cfg.TokenType)
	return append(b, '}')
}

// event starts a 2.x TransactionEvent (without its closing brace).
func (st *loadStation) event(b []byte, typ, trigger, ts, state, context string, stopped bool) []byte {
	b = append(b, `{"eventType":"`...)
	b = append(b, typ...)
	b = append(b, `","timestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","triggerReason":"`...)
	b = append(b, trigger...)
	b = append(b, `","seqNo":`...)
	b = strconv.AppendInt(b, int64(st.seqNo), 10)
	st.seqNo++
	b = append(b, `,"transactionInfo":{"transactionId":"`...)
	b = append(b, st.txID...)
	b = append(b, `","chargingState":"`...)
	b = append(b, state...)
	if stopped {
		b = append(b, `","stoppedReason":"Local`...)
	}
	b = append(b, `"},"meterValue":`...)
	return st.meterValue(b, false, ts, context, typ != "Updated")
}

func (st *loadStation) meterValue(b []byte, v16 bool, ts, context string, energyOnly bool) []byte {
	b = append(b, `[{"timestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","sampledValue":[`...)
	sv := func(b []byte, value int64, measurand, unit string) []byte {
		b = append(b, `{"value":`...)
		if v16 {
			b = append(b, '"')
		}
		b = strconv.AppendInt(b, value, 10)
		if v16 {
			b = append(b, '"')
		}
		b = append(b, `,"context":"`...)
		b = append(b, context...)
		b = append(b, `","measurand":"`...)
		b = append(b, measurand...)
		b = append(b, `","location":"Outlet",`...)
		if v16 {
			b = append(b, `"unit":"`...)
			b = append(b, unit...)
			return append(b, `"}`...)
		}
		b = append(b, `"unitOfMeasure":{"unit":"`...)
		b = append(b, unit...)
		return append(b, `"}}`...)
	}
	b = sv(b, st.energyWh, "Energy.Active.Import.Register", "Wh")
	if !energyOnly {
		b = append(b, ',')
		b = sv(b, st.powerW, "Power.Active.Import", "W")
	}
	return append(b, "]}]"...)
}

func (st *loadStation) uuid() string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	hi, lo := st.rand(1<<63), st.rand(1<<63)
	for i := range 16 {
		x := hi
		if i >= 8 {
			x = lo
		}
		c := byte(x >> (8 * (i % 8)))
		switch i {
		case 6:
			c = c&0x0f | 0x40
		case 8:
			c = c&0x3f | 0x80
		}
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&0xf])
	}
	return string(out)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
