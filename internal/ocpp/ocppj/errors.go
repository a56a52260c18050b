package ocppj

import (
	"encoding/json"
	"fmt"
)

// ErrorKind is a version-neutral OCPP-J RPC error. Code gives its wire spelling in a version:
// 1.6 and 2.x differ in a few names (FormationViolation/FormatViolation, the 1.6 misspelling
// OccurenceConstraintViolation) and 2.x adds MessageTypeNotSupported and RpcFrameworkError.
type ErrorKind uint8

const (
	GenericError ErrorKind = iota // zero value: the catch-all
	NotImplemented
	NotSupported
	InternalError
	ProtocolError
	SecurityError
	FormationViolation // 2.x: FormatViolation
	PropertyConstraintViolation
	OccurrenceConstraintViolation // 1.6: OccurenceConstraintViolation
	TypeConstraintViolation
	MessageTypeNotSupported // 2.x only; 1.6 ignores unknown message types
	RpcFrameworkError       // 2.x only; 1.6: FormationViolation
	numErrorKinds
)

var kindNames = [numErrorKinds]string{
	GenericError:                  "GenericError",
	NotImplemented:                "NotImplemented",
	NotSupported:                  "NotSupported",
	InternalError:                 "InternalError",
	ProtocolError:                 "ProtocolError",
	SecurityError:                 "SecurityError",
	FormationViolation:            "FormatViolation",
	PropertyConstraintViolation:   "PropertyConstraintViolation",
	OccurrenceConstraintViolation: "OccurrenceConstraintViolation",
	TypeConstraintViolation:       "TypeConstraintViolation",
	MessageTypeNotSupported:       "MessageTypeNotSupported",
	RpcFrameworkError:             "RpcFrameworkError",
}

// Code is the errorCode string of k in a CALLERROR of version v.
func (k ErrorKind) Code(v Version) string {
	if k >= numErrorKinds {
		return "GenericError"
	}
	if v == V16 {
		switch k {
		case FormationViolation, RpcFrameworkError:
			// 1.6 has one code for "not conform the PDU structure", frame or payload.
			return "FormationViolation"
		case OccurrenceConstraintViolation:
			return "OccurenceConstraintViolation" // sic, as in the 1.6 specification
		case MessageTypeNotSupported:
			// 1.6 has no such code (and says to ignore such messages); should a caller
			// answer anyway, GenericError is the only code that is not wrong.
			return "GenericError"
		}
	}
	return kindNames[k]
}

// String is the 2.x spelling of k.
func (k ErrorKind) String() string { return k.Code(V21) }

// ParseErrorCode maps a received errorCode of any version to its kind; unknown codes map to
// GenericError with ok false.
func ParseErrorCode(code string) (ErrorKind, bool) {
	switch code {
	case "FormationViolation":
		return FormationViolation, true
	case "OccurenceConstraintViolation":
		return OccurrenceConstraintViolation, true
	}
	for k, name := range kindNames {
		if name == code {
			return ErrorKind(k), true
		}
	}
	return GenericError, false
}

// Error is a protocol error detected while decoding or validating a message. ID is the
// message id when it could be recovered, so that the caller can answer with a CALLERROR.
type Error struct {
	Kind ErrorKind
	ID   string
	Msg  string
}

func (e *Error) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("ocppj: %s (message %q): %s", e.Kind, e.ID, e.Msg)
	}
	return fmt.Sprintf("ocppj: %s: %s", e.Kind, e.Msg)
}

// Errorf builds an *Error of kind k.
func Errorf(k ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// UnreadableID is the message id a 2.x CALLERROR carries when the id of the offending message
// could not be read (OCPP 2.0.1 errata / 2.1 Part 4).
const UnreadableID = "-1"

// ErrorReply says whether and with which message id a receiver of version v answers a frame
// that Decode rejected with e (m is what Decode returned with it):
//   - replies to CALLRESULT, CALLERROR, CALLRESULTERROR and SEND are never answered;
//   - 1.6 ignores unknown message types;
//   - a frame whose id is unreadable is answered with UnreadableID: 2.x says so, and 1.6 says
//     nothing, so EVCS answers the same way there (a station that cannot match the reply drops
//     it; the one debugging the station sees why its frame was refused).
func ErrorReply(v Version, m Message, e *Error) (id string, ok bool) {
	switch m.Type {
	case TypeCallResult, TypeCallError, TypeCallResultError, TypeSend:
		return "", false
	}
	if v == V16 && e.Kind == MessageTypeNotSupported {
		return "", false
	}
	if e.ID != "" {
		return e.ID, true
	}
	return UnreadableID, true
}

// CallError is the error a Caller returns when the peer answered a CALL with a CALLERROR.
type CallError struct {
	Code        string
	Description string
	Details     json.RawMessage // raw JSON object as received
}

func (e *CallError) Error() string {
	if e.Description == "" {
		return "ocppj: peer answered CALLERROR " + e.Code
	}
	return "ocppj: peer answered CALLERROR " + e.Code + ": " + e.Description
}

// Kind maps the received code to a version-neutral kind (GenericError when unknown).
func (e *CallError) Kind() ErrorKind {
	k, _ := ParseErrorCode(e.Code)
	return k
}
