package ocppj

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSubprotocol(t *testing.T) {
	for _, v := range Versions {
		got, ok := ParseSubprotocol(v.Subprotocol())
		if !ok || got != v {
			t.Errorf("ParseSubprotocol(%q) = %v, %v", v.Subprotocol(), got, ok)
		}
	}
	for _, s := range []string{"", "ocpp1.5", "OCPP1.6", "ocpp2.0", "ocpp2.1 "} {
		if _, ok := ParseSubprotocol(s); ok {
			t.Errorf("ParseSubprotocol(%q) accepted", s)
		}
	}
	if V201.String() != "ocpp2.0.1" || Version(9).String() != "Version(9)" {
		t.Errorf("String: %s %s", V201, Version(9))
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		k        ErrorKind
		v16, v2x string
	}{
		{NotImplemented, "NotImplemented", "NotImplemented"},
		{NotSupported, "NotSupported", "NotSupported"},
		{InternalError, "InternalError", "InternalError"},
		{ProtocolError, "ProtocolError", "ProtocolError"},
		{SecurityError, "SecurityError", "SecurityError"},
		{FormationViolation, "FormationViolation", "FormatViolation"},
		{PropertyConstraintViolation, "PropertyConstraintViolation", "PropertyConstraintViolation"},
		{OccurrenceConstraintViolation, "OccurenceConstraintViolation", "OccurrenceConstraintViolation"},
		{TypeConstraintViolation, "TypeConstraintViolation", "TypeConstraintViolation"},
		{GenericError, "GenericError", "GenericError"},
		{MessageTypeNotSupported, "GenericError", "MessageTypeNotSupported"},
		{RpcFrameworkError, "FormationViolation", "RpcFrameworkError"},
		{ErrorKind(200), "GenericError", "GenericError"},
	}
	for _, tt := range tests {
		if got := tt.k.Code(V16); got != tt.v16 {
			t.Errorf("%d.Code(V16) = %q, want %q", tt.k, got, tt.v16)
		}
		for _, v := range []Version{V201, V21} {
			if got := tt.k.Code(v); got != tt.v2x {
				t.Errorf("%d.Code(%s) = %q, want %q", tt.k, v, got, tt.v2x)
			}
		}
		if tt.k < numErrorKinds {
			for _, code := range []string{tt.v16, tt.v2x} {
				if k, ok := ParseErrorCode(code); !ok || k.Code(V16) != tt.v16 {
					t.Errorf("ParseErrorCode(%q) = %v, %v", code, k, ok)
				}
			}
		}
	}
	if _, ok := ParseErrorCode("Nonsense"); ok {
		t.Error("ParseErrorCode accepted an unknown code")
	}
}

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  Message
	}{
		{"call", `[2,"19223201","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"M"}]`,
			Message{Type: TypeCall, ID: "19223201", Action: "BootNotification", Payload: json.RawMessage(`{"chargePointVendor":"VendorX","chargePointModel":"M"}`)}},
		{"call with whitespace", " \n[ 2 ,\t\"a\" , \"Heartbeat\" , { } ] \r\n",
			Message{Type: TypeCall, ID: "a", Action: "Heartbeat", Payload: json.RawMessage(`{ }`)}},
		{"escaped id", `[2,"a\"b\u00e9","Heartbeat",{}]`,
			Message{Type: TypeCall, ID: "a\"bé", Action: "Heartbeat", Payload: json.RawMessage(`{}`)}},
		{"result", `[3,"x",{"status":"Accepted","nested":[1,2.5e3,-0,true,false,null,"s"]}]`,
			Message{Type: TypeCallResult, ID: "x", Payload: json.RawMessage(`{"status":"Accepted","nested":[1,2.5e3,-0,true,false,null,"s"]}`)}},
		{"error", `[4,"x","NotImplemented","no such action",{"a":1}]`,
			Message{Type: TypeCallError, ID: "x", ErrorCode: "NotImplemented", ErrorDescription: "no such action", ErrorDetails: json.RawMessage(`{"a":1}`)}},
		{"error without details", `[4,"x","GenericError",""]`,
			Message{Type: TypeCallError, ID: "x", ErrorCode: "GenericError", ErrorDetails: json.RawMessage(`{}`)}},
		{"result error", `[5,"x","InternalError","d",{}]`,
			Message{Type: TypeCallResultError, ID: "x", ErrorCode: "InternalError", ErrorDescription: "d", ErrorDetails: json.RawMessage(`{}`)}},
		{"send", `[6,"x","NotifyPeriodicEventStream",{"id":1}]`,
			Message{Type: TypeSend, ID: "x", Action: "NotifyPeriodicEventStream", Payload: json.RawMessage(`{"id":1}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.frame))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Type != tt.want.Type || got.ID != tt.want.ID || got.Action != tt.want.Action ||
				!bytes.Equal(got.Payload, tt.want.Payload) || got.ErrorCode != tt.want.ErrorCode ||
				got.ErrorDescription != tt.want.ErrorDescription || !bytes.Equal(got.ErrorDetails, tt.want.ErrorDetails) {
				t.Errorf("Decode = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name   string
		frame  string
		kind   ErrorKind
		id     string
		v16    string // errorCode in 1.6
		v201   string // errorCode in 2.0.1
		reply  bool   // 2.0.1 answers with a CALLERROR
		r16    bool   // 1.6 answers with a CALLERROR (id "-1" when unreadable)
		typ    MessageType
		replyI string // id a 2.0.1 reply carries
	}{
		{"empty", ``, RpcFrameworkError, "", "FormationViolation", "RpcFrameworkError", true, true, 0, "-1"},
		{"not json", `hello`, RpcFrameworkError, "", "FormationViolation", "RpcFrameworkError", true, true, 0, "-1"},
		{"object", `{"a":1}`, RpcFrameworkError, "", "FormationViolation", "RpcFrameworkError", true, true, 0, "-1"},
		{"type is string", `["2","a","Heartbeat",{}]`, RpcFrameworkError, "", "FormationViolation", "RpcFrameworkError", true, true, 0, "-1"},
		{"type is fraction", `[2.0,"a","Heartbeat",{}]`, RpcFrameworkError, "", "FormationViolation", "RpcFrameworkError", true, true, 0, "-1"},
		{"id is number", `[2,17,"Heartbeat",{}]`, RpcFrameworkError, "", "FormationViolation", "RpcFrameworkError", true, true, TypeCall, "-1"},
		{"too few", `[2,"a","Heartbeat"]`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", true, true, TypeCall, "a"},
		{"too many", `[2,"a","Heartbeat",{},{}]`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", true, true, TypeCall, "a"},
		{"action not string", `[2,"a",5,{}]`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", true, true, TypeCall, "a"},
		{"payload array", `[2,"a","Heartbeat",[]]`, FormationViolation, "a", "FormationViolation", "FormatViolation", true, true, TypeCall, "a"},
		{"payload broken", `[2,"a","Heartbeat",{"x":}]`, FormationViolation, "a", "FormationViolation", "FormatViolation", true, true, TypeCall, "a"},
		{"unterminated", `[2,"a","Heartbeat",{}`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", true, true, TypeCall, "a"},
		{"trailing data", `[2,"a","Heartbeat",{}]x`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", true, true, TypeCall, "a"},
		{"control char in id", "[2,\"a\x01\",\"Heartbeat\",{}]", RpcFrameworkError, "", "FormationViolation", "RpcFrameworkError", true, true, TypeCall, "-1"},
		{"unknown type", `[9,"a","Heartbeat",{}]`, MessageTypeNotSupported, "a", "GenericError", "MessageTypeNotSupported", true, false, 9, "a"},
		{"unknown type broken", `[9,"a",{]`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", true, true, 9, "a"},
		{"result missing payload", `[3,"a"]`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", false, false, TypeCallResult, ""},
		{"error code not string", `[4,"a",1,"",{}]`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", false, false, TypeCallError, ""},
		{"send broken", `[6,"a","X"]`, RpcFrameworkError, "a", "FormationViolation", "RpcFrameworkError", false, false, TypeSend, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.frame))
			if err == nil {
				t.Fatalf("Decode accepted %q", tt.frame)
			}
			if err.Kind != tt.kind || err.ID != tt.id || m.Type != tt.typ {
				t.Errorf("Decode = kind %v id %q type %v, want %v %q %v", err.Kind, err.ID, m.Type, tt.kind, tt.id, tt.typ)
			}
			if c := err.Kind.Code(V16); c != tt.v16 {
				t.Errorf("1.6 code %q, want %q", c, tt.v16)
			}
			if c := err.Kind.Code(V201); c != tt.v201 {
				t.Errorf("2.0.1 code %q, want %q", c, tt.v201)
			}
			id, ok := ErrorReply(V201, m, err)
			if ok != tt.reply || id != tt.replyI {
				t.Errorf("ErrorReply(V201) = %q, %v, want %q, %v", id, ok, tt.replyI, tt.reply)
			}
			if _, ok := ErrorReply(V16, m, err); ok != tt.r16 {
				t.Errorf("ErrorReply(V16) ok = %v, want %v", ok, tt.r16)
			}
			if err.Error() == "" {
				t.Error("empty Error()")
			}
		})
	}
}

func TestDecodeVersion(t *testing.T) {
	for _, tt := range []struct {
		v     Version
		frame string
		ok    bool
	}{
		{V16, `[6,"a","X",{}]`, false},
		{V201, `[5,"a","X","",{}]`, false},
		{V21, `[6,"a","X",{}]`, true},
		{V16, `[2,"a","X",{}]`, true},
	} {
		_, err := DecodeVersion(tt.v, []byte(tt.frame))
		if (err == nil) != tt.ok {
			t.Errorf("DecodeVersion(%s, %s) = %v", tt.v, tt.frame, err)
		}
		if err != nil && err.Kind != MessageTypeNotSupported {
			t.Errorf("kind %v", err.Kind)
		}
	}
}

func TestAppendRoundTrip(t *testing.T) {
	weird := "quote\" backslash\\ nl\n tab\t ctl\x01 é \u2028 bad\xff"
	tests := []struct {
		name  string
		frame []byte
		want  Message
	}{
		{"call", AppendCall(nil, "id-1", "Authorize", []byte(`{"idTag":"A"}`)),
			Message{Type: TypeCall, ID: "id-1", Action: "Authorize", Payload: json.RawMessage(`{"idTag":"A"}`)}},
		{"call nil payload", AppendCall(nil, "id-2", "Heartbeat", nil),
			Message{Type: TypeCall, ID: "id-2", Action: "Heartbeat", Payload: json.RawMessage(`{}`)}},
		{"result", AppendResult([]byte("prefix"), "id-3", []byte(`{"a":[1]}`))[len("prefix"):],
			Message{Type: TypeCallResult, ID: "id-3", Payload: json.RawMessage(`{"a":[1]}`)}},
		{"error", AppendError(nil, weird, "InternalError", weird, nil),
			Message{Type: TypeCallError, ID: strings.ToValidUTF8(weird, "\ufffd"), ErrorCode: "InternalError", ErrorDescription: strings.ToValidUTF8(weird, "\ufffd"), ErrorDetails: json.RawMessage(`{}`)}},
		{"result error", AppendResultError(nil, "r", "GenericError", "", []byte(`{"k":"v"}`)),
			Message{Type: TypeCallResultError, ID: "r", ErrorCode: "GenericError", ErrorDetails: json.RawMessage(`{"k":"v"}`)}},
		{"send", AppendSend(nil, "s", "NotifyPeriodicEventStream", nil),
			Message{Type: TypeSend, ID: "s", Action: "NotifyPeriodicEventStream", Payload: json.RawMessage(`{}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid(tt.frame) {
				t.Fatalf("invalid JSON: %s", tt.frame)
			}
			got, err := Decode(tt.frame)
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.frame, err)
			}
			if got.Type != tt.want.Type || got.ID != tt.want.ID || got.Action != tt.want.Action ||
				!bytes.Equal(got.Payload, tt.want.Payload) || got.ErrorCode != tt.want.ErrorCode ||
				got.ErrorDescription != tt.want.ErrorDescription || !bytes.Equal(got.ErrorDetails, tt.want.ErrorDetails) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	// The error description must match what encoding/json would produce when decoded.
	var arr []any
	if err := json.Unmarshal(AppendError(nil, "x", "GenericError", "a\"b\\c\x00", nil), &arr); err != nil || arr[3] != "a\"b\\c\x00" {
		t.Errorf("escaped description = %v, %v", arr, err)
	}
}

func BenchmarkDecodeCall(b *testing.B) {
	frame := []byte(`[2,"5b7d1a6e-3c1f-4f4e-9d7c-0a4a3b2c1d0e","MeterValues",{"connectorId":1,"transactionId":42,"meterValue":[{"timestamp":"2024-05-01T10:00:00Z","sampledValue":[{"value":"1234.5","measurand":"Energy.Active.Import.Register","unit":"Wh"},{"value":"7200","measurand":"Power.Active.Import","unit":"W"}]}]}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendError(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendError(buf[:0], "5b7d1a6e-3c1f-4f4e-9d7c-0a4a3b2c1d0e", "PropertyConstraintViolation", `chargePointVendor: "longer" than 20`, nil)
	}
}
