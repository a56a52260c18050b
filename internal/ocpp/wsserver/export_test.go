package wsserver

import "time"

// SetWriteTimeout sets how long one frame's write may take, until the returned func restores it.
func SetWriteTimeout(d time.Duration) (restore func()) {
	old := writeTimeout
	writeTimeout = d
	return func() { writeTimeout = old }
}
