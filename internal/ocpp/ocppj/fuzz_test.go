package ocppj

import (
	"encoding/json"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`[2,"1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]`,
		`[3,"1",{"status":"Accepted","currentTime":"2024-01-01T00:00:00Z","interval":60}]`,
		`[4,"1","NotImplemented","",{}]`,
		`[5,"1","GenericError","x",{}]`,
		`[6,"1","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2024-01-01T00:00:00Z","data":[]}]`,
		`[2,"\u0041\n","A",{"a":[1,{"b":null}]}]`,
		`[9,"1"]`, `[2,"1","A",[]]`, `[2,1,"A",{}]`, `{}`, ``, `[`, `[2`, `[2,"`, `[[[[[[[[[[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			ErrorReply(V16, m, err)
			ErrorReply(V21, m, err)
			return
		}
		// Anything Decode accepts is valid JSON (encoding/json agrees), and re-encoding the
		// decoded message yields an equivalent frame.
		if !json.Valid(frame) {
			t.Fatalf("Decode accepted invalid JSON %q", frame)
		}
		var re []byte
		switch m.Type {
		case TypeCall:
			re = AppendCall(nil, m.ID, m.Action, m.Payload)
		case TypeSend:
			re = AppendSend(nil, m.ID, m.Action, m.Payload)
		case TypeCallResult:
			re = AppendResult(nil, m.ID, m.Payload)
		case TypeCallError:
			re = AppendError(nil, m.ID, m.ErrorCode, m.ErrorDescription, m.ErrorDetails)
		case TypeCallResultError:
			re = AppendResultError(nil, m.ID, m.ErrorCode, m.ErrorDescription, m.ErrorDetails)
		default:
			t.Fatalf("accepted message type %d", m.Type)
		}
		m2, err := Decode(re)
		if err != nil {
			t.Fatalf("re-encoded frame %q rejected: %v", re, err)
		}
		// The encoder replaces invalid UTF-8 with U+FFFD.
		valid := func(s string) string { return string([]rune(s)) }
		if m2.Type != m.Type || m2.ID != valid(m.ID) || m2.Action != valid(m.Action) || m2.ErrorCode != valid(m.ErrorCode) ||
			m2.ErrorDescription != valid(m.ErrorDescription) {
			t.Fatalf("round trip changed %+v into %+v", m, m2)
		}
	})
}
