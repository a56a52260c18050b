package wsserver

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
)

// Per-connection memory is what decides how many idle stations one node holds (100,000 at a
// heartbeat every 300 s is the target). The HTTP server hands a hijacked connection over with a
// 4 KiB read and a 4 KiB write buffer that the WebSocket library would keep for the connection's
// whole life; leanWriter swaps them for a 16-byte read buffer in front of leanConn (which borrows
// a pooled buffer only while bytes are waiting to be read) and a small write buffer that holds
// any reply of ordinary size, so a frame is still one read and one write system call.
const (
	readBufSize  = 16  // bufio's minimum: the idle read of a frame header needs no more
	writeBufSize = 512 // a CALLRESULT of ordinary size goes out in one write; a larger frame in two
	readChunk    = 4096
)

// leanWriter wraps the handshake's ResponseWriter so that websocket.Accept hijacks a leanConn
// with small buffers. conn is set once Accept has hijacked.
type leanWriter struct {
	http.ResponseWriter
	conn *leanConn
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *leanWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack takes the connection from the HTTP server and drops its 8 KiB of buffers. Bytes the
// server had already read past the handshake stay first in line.
func (w *leanWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 { // the 101 response is normally flushed already
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	lc := newLeanConn(nc)
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		lc.pending = bytes.Clone(b)
	}
	lc.br = bufio.NewReaderSize(lc, readBufSize)
	w.conn = lc
	return lc, bufio.NewReadWriter(lc.br, bufio.NewWriterSize(nc, writeBufSize)), nil
}

var readPool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// leanConn is the hijacked connection. Small reads (the WebSocket library's 16-byte buffer
// refilling, which is where an idle connection waits) go through a pooled 4 KiB buffer that is
// taken only once the socket is readable and given back as soon as it is drained; larger reads
// go straight to the socket. An idle connection so holds no read buffer at all.
type leanConn struct {
	net.Conn
	wait    waiter // nil: no readiness notification (TLS, tests): small reads block on Conn
	pending []byte // handshake leftovers, read first
	buf     *[]byte
	r, w    int           // unread bytes are (*buf)[r:w]
	br      *bufio.Reader // the WebSocket library's reader over this connection

	// mu orders idleWait's look at the read state against a close: closing the WebSocket
	// reads the peer's close frame through br from another goroutine (Conn.close), so once
	// closing is set idleWait leaves the read state alone.
	mu      sync.Mutex
	closing bool
}

// waiter reads into a pooled buffer once the socket is readable, or just waits until it is
// (see lean_unix.go).
type waiter interface {
	readPooled() (*[]byte, int, error)
	waitReadable() error
}

// idleWait returns once there is something to read (bytes, end of stream, an error, or the
// read deadline). It waits in the poller with the shallowest possible stack and holds no
// buffer, and without entering the WebSocket library, so an idle connection is a goroutine of
// the minimum size. It returns at once when bytes are already buffered, or when the socket
// cannot be waited on (TLS).
func (c *leanConn) idleWait() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return net.ErrClosed
	}
	ready := c.wait == nil || len(c.pending) > 0 || c.buf != nil || c.br == nil || c.br.Buffered() > 0
	c.mu.Unlock()
	if ready {
		return nil
	}
	return c.wait.waitReadable() // the poller only: a close's reads of br do not race with it
}

// markClosing is called before the WebSocket is closed: idleWait no longer reads its state.
func (c *leanConn) markClosing() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
}

func newLeanConn(nc net.Conn) *leanConn {
	return &leanConn{Conn: nc, wait: newWaiter(nc)}
}

func (c *leanConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.buf == nil {
		if c.wait == nil || len(p) > readBufSize {
			return c.Conn.Read(p)
		}
		b, n, err := c.wait.readPooled()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			readPool.Put(b)
			return 0, io.EOF
		}
		c.buf, c.r, c.w = b, 0, n
	}
	n := copy(p, (*c.buf)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		readPool.Put(c.buf)
		c.buf = nil
	}
	return n, nil
}
