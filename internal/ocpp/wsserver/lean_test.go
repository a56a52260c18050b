package wsserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// A leanConn read through a 16-byte bufio.Reader, as the WebSocket library reads it, returns
// the handshake leftovers first, then the stream exactly, then EOF; it holds no pooled buffer
// once drained.
func TestLeanConnReads(t *testing.T) {
	server, client := tcpPair(t)
	lc := newLeanConn(server)
	if lc.wait == nil {
		t.Fatal("a TCP connection should be read through its RawConn")
	}
	lc.pending = []byte("left-")
	want := bytes.Repeat([]byte("0123456789abcdef-"), 1000) // larger than a pooled chunk
	go func() {
		for i := 0; i < len(want); i += 700 {
			_, _ = client.Write(want[i:min(i+700, len(want))])
			time.Sleep(time.Millisecond)
		}
		client.Close()
	}()
	br := bufio.NewReaderSize(lc, readBufSize)
	var got bytes.Buffer
	small := make([]byte, 3)
	big := make([]byte, 1000)
	for i := 0; ; i++ {
		p := small // alternate header-sized and payload-sized reads
		if i%2 == 1 {
			p = big
		}
		n, err := br.Read(p)
		got.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), append([]byte("left-"), want...)) {
		t.Fatalf("read %d bytes, not the %d sent", got.Len(), len(want)+5)
	}
	if lc.buf != nil {
		t.Error("a drained connection still holds a pooled buffer")
	}
}

// The idle timeout is the read deadline: a waiting read ends with os.ErrDeadlineExceeded.
func TestLeanConnDeadline(t *testing.T) {
	server, _ := tcpPair(t)
	lc := newLeanConn(server)
	_ = lc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := lc.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "read" {
		t.Errorf("err = %#v, want a *net.OpError for read", err)
	}
}
