//go:build unix

package wsserver

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// rawWaiter reads a socket through its RawConn: the runtime's poller waits for readability
// and only then is a buffer taken from the pool, so nothing is held while the station is idle.
type rawWaiter struct {
	nc net.Conn
	rc syscall.RawConn
}

func newWaiter(nc net.Conn) waiter {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &rawWaiter{nc: nc, rc: rc}
}

func (w *rawWaiter) waitReadable() error {
	err := w.rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			// Peek: the bytes stay in the socket for the real read.
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return !errors.Is(err, syscall.EAGAIN) // data, end of stream or an error: read it
		}
	})
	if err != nil {
		return w.opError(err)
	}
	return nil
}

func (w *rawWaiter) opError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) { // "raw-read" would confuse a reader of the logs
		err = op.Err
	}
	return &net.OpError{Op: "read", Net: w.nc.LocalAddr().Network(), Source: w.nc.LocalAddr(), Addr: w.nc.RemoteAddr(), Err: err}
}

func (w *rawWaiter) readPooled() (*[]byte, int, error) {
	var (
		b    *[]byte
		n    int
		rerr error
	)
	err := w.rc.Read(func(fd uintptr) bool {
		b = readPool.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), *b)
			if !errors.Is(rerr, syscall.EINTR) {
				break
			}
		}
		if errors.Is(rerr, syscall.EAGAIN) {
			readPool.Put(b)
			b = nil
			return false // not readable yet: the poller waits
		}
		return true
	})
	if err == nil && rerr != nil {
		err = os.NewSyscallError("read", rerr)
	}
	if err != nil {
		if b != nil {
			readPool.Put(b)
		}
		return nil, 0, w.opError(err)
	}
	return b, n, nil
}
