// Package ocppj implements the OCPP-J RPC framing shared by OCPP 1.6, 2.0.1 and 2.1: the
// subprotocol names, the CALL / CALLRESULT / CALLERROR frames, the error codes of each version
// and the matching of replies to the single outstanding CALL of a connection.
//
// It imports nothing from the rest of the project so that both the server and the station
// simulator can build on it.
package ocppj

// Version is an OCPP-J protocol version, as negotiated through the WebSocket subprotocol.
// The zero value is not a valid version.
type Version uint8

const (
	V16  Version = iota + 1 // "ocpp1.6"
	V201                    // "ocpp2.0.1"
	V21                     // "ocpp2.1"
)

// Versions lists the supported versions from highest to lowest: the order in which a server
// prefers them when a station offers several.
var Versions = []Version{V21, V201, V16}

// Subprotocol is the WebSocket subprotocol name of v ("" for an invalid version).
func (v Version) Subprotocol() string {
	switch v {
	case V16:
		return "ocpp1.6"
	case V201:
		return "ocpp2.0.1"
	case V21:
		return "ocpp2.1"
	}
	return ""
}

// String returns the subprotocol name, or "Version(n)" for an invalid version.
func (v Version) String() string {
	if s := v.Subprotocol(); s != "" {
		return s
	}
	return "Version(" + itoa(int(v)) + ")"
}

// Valid reports whether v is one of V16, V201, V21.
func (v Version) Valid() bool { return v >= V16 && v <= V21 }

// ParseSubprotocol maps a WebSocket subprotocol name to its version. Matching is exact:
// subprotocol tokens are case-sensitive.
func ParseSubprotocol(s string) (Version, bool) {
	switch s {
	case "ocpp1.6":
		return V16, true
	case "ocpp2.0.1":
		return V201, true
	case "ocpp2.1":
		return V21, true
	}
	return 0, false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
