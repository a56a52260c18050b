//go:build !unix

package wsserver

import "net"

func newWaiter(net.Conn) waiter { return nil }
