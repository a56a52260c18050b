package sim

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// wsConn is the load generator's WebSocket client: just what an OCPP station needs (text
// frames, masked, ping/pong, close), so that a simulated station costs a socket, a read buffer
// that grows only for large frames, and the one goroutine that drives it. The full Station
// uses github.com/coder/websocket, which keeps 8 KiB of buffers per connection.
type wsConn struct {
	nc   net.Conn
	buf  []byte // received bytes; buf[r:w] are not yet returned as frames
	r, w int
	msg  []byte // a fragmented message being reassembled
}

const (
	wsGUID       = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsReadMin    = 256     // free space ensured before a read
	wsMaxMessage = 1 << 20 // larger frames end the connection
)

var errWSClosed = errors.New("sim: connection closed by the CSMS")

// dialWS connects to rawURL (ws:// or wss://) from the dialer's source address, offering
// subprotocol proto, with HTTP Basic credentials when password is set.
func dialWS(ctx context.Context, d *net.Dialer, rawURL, proto, user, password string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[bool]string{true: "443", false: "80"}[u.Scheme == "wss"])
	}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "wss" {
		tc := tls.Client(nc, &tls.Config{ServerName: u.Hostname()})
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c, err := handshake(nc, u, proto, user, password)
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func handshake(nc net.Conn, u *url.URL, proto, user, password string) (*wsConn, error) {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	k := base64.StdEncoding.EncodeToString(key[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", u.RequestURI(), u.Host)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n", k, proto)
	if password != "" {
		fmt.Fprintf(&b, "Authorization: Basic %s\r\n", base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 1024)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	sum := sha1.Sum([]byte(k + wsGUID))
	if res.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("bad Sec-WebSocket-Accept")
	}
	if got := res.Header.Get("Sec-WebSocket-Protocol"); got != proto {
		return nil, fmt.Errorf("CSMS did not accept subprotocol %s (got %q)", proto, got)
	}
	c := &wsConn{nc: nc}
	if n := br.Buffered(); n > 0 { // the CSMS may have written right after the handshake
		p, _ := br.Peek(n)
		c.buf = append(make([]byte, 0, n+wsReadMin), p...)[:n+wsReadMin]
		c.w = n
	}
	return c, nil
}

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// write sends one masked frame with opcode op (0x1 text, 0x8 close, 0xA pong).
func (c *wsConn) write(op byte, payload []byte, timeout time.Duration) error {
	bp := framePool.Get().(*[]byte)
	b := append((*bp)[:0], 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range b[start:] {
		b[start+i] ^= mask[i&3]
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.nc.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		framePool.Put(bp)
	}
	return err
}

// next returns the next text message, answering pings and a close on the way. A read that
// reaches the connection's read deadline returns the timeout error and keeps any partial frame
// for the next call. The payload is valid until the next call.
func (c *wsConn) next(timeout time.Duration) ([]byte, error) {
	for {
		fin, op, payload, ok, err := c.parse()
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := c.fill(); err != nil {
				return nil, err
			}
			continue
		}
		switch op {
		case 0x8: // close: answer it and stop
			_ = c.write(0x8, payload[:min(len(payload), 2)], timeout)
			return nil, errWSClosed
		case 0x9:
			if err := c.write(0xA, payload, timeout); err != nil {
				return nil, err
			}
			continue
		case 0xA:
			continue
		case 0x0: // continuation
			c.msg = append(c.msg, payload...)
		case 0x1, 0x2:
			if fin {
				return payload, nil
			}
			c.msg = append(c.msg[:0], payload...)
		default:
			return nil, fmt.Errorf("sim: unknown WebSocket opcode %#x", op)
		}
		if len(c.msg) > wsMaxMessage {
			return nil, errors.New("sim: message too big")
		}
		if fin && op == 0x0 {
			m := c.msg
			c.msg = nil
			return m, nil
		}
	}
}

// parse takes one whole frame off the buffer (ok=false: not all of it has arrived yet).
func (c *wsConn) parse() (fin bool, op byte, payload []byte, ok bool, err error) {
	b := c.buf[c.r:c.w]
	if len(b) < 2 {
		return false, 0, nil, false, nil
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	if b[1]&0x80 != 0 {
		return false, 0, nil, false, errors.New("sim: masked frame from the CSMS")
	}
	n, h := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return false, 0, nil, false, nil
		}
		n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return false, 0, nil, false, nil
		}
		n, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	if n > wsMaxMessage {
		return false, 0, nil, false, errors.New("sim: frame too big")
	}
	if uint64(len(b)-h) < n {
		return false, 0, nil, false, nil
	}
	end := h + int(n)
	c.r += end
	return fin, op, b[h:end], true, nil
}

// fill reads more bytes: unread ones move to the front first, and the buffer grows only when
// a frame does not fit (a buffer grown past 16 KiB is dropped once empty).
func (c *wsConn) fill() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
		if len(c.buf) > 16<<10 {
			c.buf = nil
		}
	}
	if len(c.buf)-c.w < wsReadMin && c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if len(c.buf)-c.w < wsReadMin {
		nb := make([]byte, max(2*len(c.buf), c.w+wsReadMin, 512))
		copy(nb, c.buf[c.r:c.w])
		c.buf, c.w, c.r = nb, c.w-c.r, 0
	}
	n, err := c.nc.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (c *wsConn) close() { _ = c.nc.Close() }
