package ocppj

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// MessageType is the first element of an OCPP-J frame.
type MessageType uint8

const (
	TypeCall            MessageType = 2
	TypeCallResult      MessageType = 3
	TypeCallError       MessageType = 4
	TypeCallResultError MessageType = 5 // 2.1 only
	TypeSend            MessageType = 6 // 2.1 only
)

func (t MessageType) String() string {
	switch t {
	case TypeCall:
		return "CALL"
	case TypeCallResult:
		return "CALLRESULT"
	case TypeCallError:
		return "CALLERROR"
	case TypeCallResultError:
		return "CALLRESULTERROR"
	case TypeSend:
		return "SEND"
	}
	return "MessageType(" + itoa(int(t)) + ")"
}

// SupportedBy reports whether version v defines message type t.
func (t MessageType) SupportedBy(v Version) bool {
	switch t {
	case TypeCall, TypeCallResult, TypeCallError:
		return v.Valid()
	case TypeCallResultError, TypeSend:
		return v == V21
	}
	return false
}

// Message is one decoded frame. Payload, ErrorDetails alias the decoded frame: copy them if the
// frame's buffer is reused.
//
//	CALL, SEND:                   Type, ID, Action, Payload
//	CALLRESULT:                   Type, ID, Payload
//	CALLERROR, CALLRESULTERROR:   Type, ID, ErrorCode, ErrorDescription, ErrorDetails
type Message struct {
	Type             MessageType
	ID               string
	Action           string
	Payload          json.RawMessage
	ErrorCode        string
	ErrorDescription string
	ErrorDetails     json.RawMessage
}

// maxDepth bounds nesting so that hostile frames cannot exhaust the stack.
const maxDepth = 64

// Decode parses an OCPP-J frame. It checks the outer structure only (the payload must be
// well-formed JSON, its schema is checked by the version packages). On failure the returned
// Message holds what could be read (Type, ID) and the *Error carries the id when it was
// recovered; see ErrorReply for whether to answer. Failures:
//
//	not JSON, not an array, wrong element count or element type, unreadable id → RpcFrameworkError
//	   (1.6 spells it FormationViolation)
//	message type number unknown                                       → MessageTypeNotSupported
//	CALL/SEND payload not valid JSON or not a JSON object             → FormationViolation
//	   (2.x spells it FormatViolation)
//
// Decode accepts the 2.1-only types 5 and 6; DecodeVersion rejects them for older versions.
func Decode(frame []byte) (Message, *Error) {
	var m Message
	d := decoder{b: frame}
	d.ws()
	if !d.eat('[') {
		return m, d.fail(RpcFrameworkError, "frame is not a JSON array")
	}
	d.ws()
	typ, ok := d.uint()
	if !ok {
		return m, d.fail(RpcFrameworkError, "message type is not a number")
	}
	if typ > 255 {
		typ = 255
	}
	m.Type = MessageType(typ)
	if !d.sep() {
		return m, d.fail(RpcFrameworkError, "missing message id")
	}
	id, ok := d.str()
	if !ok {
		return m, d.fail(RpcFrameworkError, "message id is not a string")
	}
	m.ID = id
	d.id = id
	switch m.Type {
	case TypeCall, TypeSend:
		if !d.sep() {
			return m, d.fail(RpcFrameworkError, "missing action")
		}
		if m.Action, ok = d.str(); !ok {
			return m, d.fail(RpcFrameworkError, "action is not a string")
		}
		if !d.sep() {
			return m, d.fail(RpcFrameworkError, "missing payload")
		}
		start := d.i
		if !d.value(0) {
			// The id is known, so this is the payload's fault rather than the frame's.
			return m, d.fail(FormationViolation, "payload is not valid JSON")
		}
		m.Payload = frame[start:d.i:d.i]
		if frame[start] != '{' {
			if e := d.end(); e != nil {
				return m, e
			}
			return m, d.fail(FormationViolation, "payload is not a JSON object")
		}
	case TypeCallResult:
		if !d.sep() {
			return m, d.fail(RpcFrameworkError, "missing payload")
		}
		start := d.i
		if !d.value(0) {
			return m, d.fail(RpcFrameworkError, "payload is not valid JSON")
		}
		m.Payload = frame[start:d.i:d.i]
	case TypeCallError, TypeCallResultError:
		if !d.sep() {
			return m, d.fail(RpcFrameworkError, "missing error code")
		}
		if m.ErrorCode, ok = d.str(); !ok {
			return m, d.fail(RpcFrameworkError, "error code is not a string")
		}
		if !d.sep() {
			return m, d.fail(RpcFrameworkError, "missing error description")
		}
		if m.ErrorDescription, ok = d.str(); !ok {
			return m, d.fail(RpcFrameworkError, "error description is not a string")
		}
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			// Some implementations omit the details; accept and normalise to {}.
			m.ErrorDetails = json.RawMessage(emptyObject)
			break
		}
		if !d.sep() {
			return m, d.fail(RpcFrameworkError, "missing error details")
		}
		start := d.i
		if !d.value(0) {
			return m, d.fail(RpcFrameworkError, "error details are not valid JSON")
		}
		m.ErrorDetails = frame[start:d.i:d.i]
	default:
		// Unknown type: make sure the rest is a well-formed array, then report it.
		for {
			d.ws()
			if d.i < len(d.b) && d.b[d.i] == ']' {
				break
			}
			if !d.sep() || !d.value(0) {
				return m, d.fail(RpcFrameworkError, "frame is not valid JSON")
			}
		}
		if e := d.end(); e != nil {
			return m, e
		}
		return m, d.fail(MessageTypeNotSupported, "message type "+strconv.Itoa(int(typ))+" is not supported")
	}
	if e := d.end(); e != nil {
		return m, e
	}
	return m, nil
}

var emptyObject = []byte("{}")

// DecodeVersion is Decode plus a check that the message type exists in version v.
func DecodeVersion(v Version, frame []byte) (Message, *Error) {
	m, err := Decode(frame)
	if err == nil && !m.Type.SupportedBy(v) {
		return m, &Error{Kind: MessageTypeNotSupported, ID: m.ID, Msg: m.Type.String() + " is not defined in " + v.String()}
	}
	return m, err
}

type decoder struct {
	b  []byte
	i  int
	id string
}

func (d *decoder) fail(k ErrorKind, msg string) *Error {
	return &Error{Kind: k, ID: d.id, Msg: msg}
}

// end consumes the closing bracket and trailing whitespace.
func (d *decoder) end() *Error {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ',' {
		return d.fail(RpcFrameworkError, "frame has too many elements")
	}
	if !d.eat(']') {
		return d.fail(RpcFrameworkError, "frame is not a closed JSON array")
	}
	d.ws()
	if d.i != len(d.b) {
		return d.fail(RpcFrameworkError, "data after the frame")
	}
	return nil
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// sep consumes `ws , ws`.
func (d *decoder) sep() bool {
	d.ws()
	if !d.eat(',') {
		return false
	}
	d.ws()
	return true
}

// uint reads a non-negative JSON integer (no fraction or exponent).
func (d *decoder) uint() (int, bool) {
	start := d.i
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		if n < 1<<20 {
			n = n*10 + int(d.b[d.i]-'0')
		}
		d.i++
	}
	if d.i == start || (d.b[start] == '0' && d.i-start > 1) {
		return 0, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return n, true
}

// str reads a JSON string and returns its value.
func (d *decoder) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := string(d.b[start:d.i])
			d.i++
			return s, true
		case c == '\\':
			// Rare: fall back to the slow path for the whole string.
			end, ok := scanString(d.b, start-1)
			if !ok {
				return "", false
			}
			var s string
			if json.Unmarshal(d.b[start-1:end], &s) != nil {
				return "", false
			}
			d.i = end
			return s, true
		case c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// value skips one well-formed JSON value.
func (d *decoder) value(depth int) bool {
	end, ok := skipValue(d.b, d.i, depth)
	if ok {
		d.i = end
	}
	return ok
}

// skipValue validates the JSON value starting at b[i] (no leading whitespace) and returns the
// index just past it.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return i, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				var ok bool
				if i >= len(b) || b[i] != '"' {
					return i, false
				}
				if i, ok = scanString(b, i); !ok {
					return i, false
				}
				i = skipWS(b, i)
				if i >= len(b) || b[i] != ':' {
					return i, false
				}
				i = skipWS(b, i+1)
			}
			var ok bool
			if i, ok = skipValue(b, i, depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return lit(b, i, "true")
	case c == 'f':
		return lit(b, i, "false")
	case c == 'n':
		return lit(b, i, "null")
	}
	return i, false
}

func lit(b []byte, i int, s string) (int, bool) {
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s {
		return i + len(s), true
	}
	return i, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString validates the string starting at the quote b[i] and returns the index past the
// closing quote.
func scanString(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 5
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber validates a JSON number per RFC 8259.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	return i, true
}

// AppendCall appends the frame [2,"id","action",payload]. A nil or empty payload is sent as {}.
// The payload is copied as is: it must be valid JSON.
func AppendCall(dst []byte, id, action string, payload []byte) []byte {
	dst = append(dst, "[2,"...)
	dst = appendString(dst, id)
	dst = append(dst, ',')
	dst = appendString(dst, action)
	dst = append(dst, ',')
	return appendRaw(dst, payload)
}

// AppendSend appends the 2.1 frame [6,"id","action",payload].
func AppendSend(dst []byte, id, action string, payload []byte) []byte {
	dst = append(dst, "[6,"...)
	dst = appendString(dst, id)
	dst = append(dst, ',')
	dst = appendString(dst, action)
	dst = append(dst, ',')
	return appendRaw(dst, payload)
}

// AppendResult appends the frame [3,"id",payload]. A nil or empty payload is sent as {}.
func AppendResult(dst []byte, id string, payload []byte) []byte {
	dst = append(dst, "[3,"...)
	dst = appendString(dst, id)
	dst = append(dst, ',')
	return appendRaw(dst, payload)
}

// AppendError appends the frame [4,"id","code","description",details]; details are {} when nil
// or empty.
func AppendError(dst []byte, id, code, description string, details []byte) []byte {
	return appendErrorFrame(dst, "[4,", id, code, description, details)
}

// AppendResultError appends the 2.1 frame [5,"id","code","description",details].
func AppendResultError(dst []byte, id, code, description string, details []byte) []byte {
	return appendErrorFrame(dst, "[5,", id, code, description, details)
}

func appendErrorFrame(dst []byte, head, id, code, description string, details []byte) []byte {
	dst = append(dst, head...)
	dst = appendString(dst, id)
	dst = append(dst, ',')
	dst = appendString(dst, code)
	dst = append(dst, ',')
	dst = appendString(dst, description)
	dst = append(dst, ',')
	return appendRaw(dst, details)
}

func appendRaw(dst, raw []byte) []byte {
	if len(raw) == 0 {
		raw = emptyObject
	}
	dst = append(dst, raw...)
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so that the output is
// always valid JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript consumers of logs.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
