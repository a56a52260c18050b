package wsserver

import "time"

// SetWriteTimeout sets how long one frame's write may take, until the returned func restores it.
func SetWriteTimeout(d time.Duration) (restore func()) {
	old := writeTimeout
	writeTimeout = d
	return func() { writeTimeout = old }
}

// SetHotWait sets how long a connection's goroutine waits for the next frame before a fresh
// goroutine takes over (conn.go), until the returned func restores it.
func SetHotWait(d time.Duration) (restore func()) {
	old := hotWait
	hotWait = d
	return func() { hotWait = old }
}
