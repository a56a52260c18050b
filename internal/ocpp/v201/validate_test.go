package v201

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

const bootOK = `{"reason":"PowerUp","chargingStation":{"model":"M1","vendorName":"VendorX","modem":{"iccid":"123"}},"customData":{"vendorId":"acme","extra":[1,2]}}`

const meterValues = `{"evseId":1,"meterValue":[{"timestamp":"2024-05-01T10:00:00Z","sampledValue":[{"value":1234.5,"context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"Wh"}},{"value":7200,"measurand":"Power.Active.Import","phase":"L1-N"}]}]}`

func TestValidateRequest(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		payload string
		ok      bool
		kind    ocppj.ErrorKind
		code    string // 2.x errorCode
	}{
		{"boot ok", "BootNotification", bootOK, true, 0, ""},
		{"boot missing model", "BootNotification", `{"reason":"PowerUp","chargingStation":{"vendorName":"V"}}`, false, ocppj.OccurrenceConstraintViolation, "OccurrenceConstraintViolation"},
		{"boot missing reason", "BootNotification", `{"chargingStation":{"model":"M","vendorName":"V"}}`, false, ocppj.OccurrenceConstraintViolation, "OccurrenceConstraintViolation"},
		{"boot model too long", "BootNotification", `{"reason":"PowerUp","chargingStation":{"model":"123456789012345678901","vendorName":"V"}}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"boot model number", "BootNotification", `{"reason":"PowerUp","chargingStation":{"model":7,"vendorName":"V"}}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"boot unknown reason", "BootNotification", `{"reason":"Boredom","chargingStation":{"model":"M","vendorName":"V"}}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"boot extra property", "BootNotification", `{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V","colour":"red"}}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"customData missing vendorId", "BootNotification", `{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"},"customData":{}}`, false, ocppj.OccurrenceConstraintViolation, "OccurrenceConstraintViolation"},
		{"boot bad json", "BootNotification", `{"reason":"PowerUp",`, false, ocppj.FormationViolation, "FormatViolation"},
		{"boot not object", "BootNotification", `"PowerUp"`, false, ocppj.FormationViolation, "FormatViolation"},
		{"unknown action", "Teleport", `{}`, false, ocppj.NotImplemented, "NotImplemented"},
		{"status ok", "StatusNotification", `{"timestamp":"2024-05-01T10:00:00Z","connectorStatus":"Occupied","evseId":1,"connectorId":1}`, true, 0, ""},
		{"status unknown enum", "StatusNotification", `{"timestamp":"2024-05-01T10:00:00Z","connectorStatus":"Charging","evseId":1,"connectorId":1}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"status bad date", "StatusNotification", `{"timestamp":"2024-13-01T10:00:00Z","connectorStatus":"Occupied","evseId":1,"connectorId":1}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"status string evse", "StatusNotification", `{"timestamp":"2024-05-01T10:00:00Z","connectorStatus":"Occupied","evseId":"1","connectorId":1}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"meter values ok", "MeterValues", meterValues, true, 0, ""},
		{"meter values empty array", "MeterValues", `{"evseId":1,"meterValue":[]}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"meter values string value", "MeterValues", `{"evseId":1,"meterValue":[{"timestamp":"2024-05-01T10:00:00Z","sampledValue":[{"value":"1"}]}]}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"data transfer any data", "DataTransfer", `{"vendorId":"acme","data":{"anything":[1,"x",null]}}`, true, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRequest(tt.action, []byte(tt.payload))
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateRequest: %v", err)
				}
				if v, derr := DecodeRequest(tt.action, []byte(tt.payload)); derr != nil || v == nil {
					t.Fatalf("DecodeRequest = %v, %v", v, derr)
				}
				return
			}
			if err == nil {
				t.Fatal("ValidateRequest accepted the payload")
			}
			if err.Kind != tt.kind || err.Kind.Code(Version) != tt.code {
				t.Fatalf("error %v (code %s), want %v (%s)", err, err.Kind.Code(Version), tt.kind, tt.code)
			}
			if _, derr := DecodeRequest(tt.action, []byte(tt.payload)); derr == nil || derr.Kind != tt.kind {
				t.Fatalf("DecodeRequest error %v, want kind %v", derr, tt.kind)
			}
		})
	}
}

func TestDecodeTyped(t *testing.T) {
	v, err := DecodeRequest("BootNotification", []byte(bootOK))
	if err != nil {
		t.Fatal(err)
	}
	boot, ok := v.(*BootNotificationRequest)
	if !ok {
		t.Fatalf("DecodeRequest returned %T", v)
	}
	if boot.Reason != BootReasonPowerUp || boot.ChargingStation.Model != "M1" || boot.ChargingStation.Modem == nil ||
		boot.ChargingStation.Modem.Iccid != "123" || boot.CustomData == nil || boot.CustomData.VendorID != "acme" {
		t.Fatalf("decoded %+v", boot)
	}
	v, err = DecodeRequest("MeterValues", []byte(meterValues))
	if err != nil {
		t.Fatal(err)
	}
	mv := v.(*MeterValuesRequest)
	if sv := mv.MeterValue[0].SampledValue; sv[0].Value != 1234.5 || sv[0].UnitOfMeasure == nil || sv[0].UnitOfMeasure.Unit != "Wh" || sv[1].Phase != PhaseL1N {
		t.Fatalf("decoded %+v", mv)
	}
}

// TestResponseRoundTrip marshals typed responses as the server would send them and proves they
// conform to the schema.
func TestResponseRoundTrip(t *testing.T) {
	interval := 300
	tests := []struct {
		action string
		resp   any
	}{
		{"BootNotification", &BootNotificationResponse{Status: RegistrationStatusAccepted, CurrentTime: "2024-05-01T10:00:00Z", Interval: interval}},
		{"BootNotification", &BootNotificationResponse{Status: RegistrationStatusRejected, CurrentTime: "2024-05-01T10:00:00Z", Interval: interval, StatusInfo: &StatusInfoType{ReasonCode: "Unknown"}}},
		{"Authorize", &AuthorizeResponse{IDTokenInfo: IdTokenInfoType{Status: AuthorizationStatusAccepted}}},
		{"Heartbeat", &HeartbeatResponse{CurrentTime: "2024-05-01T10:00:00Z"}},
		{"MeterValues", &MeterValuesResponse{}},
		{"StatusNotification", &StatusNotificationResponse{}},
		{"TransactionEvent", &TransactionEventResponse{}},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.resp)
		if err != nil {
			t.Fatal(err)
		}
		if verr := ValidateResponse(tt.action, b); verr != nil {
			t.Errorf("%s: %s does not conform: %v", tt.action, b, verr)
		}
		back, derr := DecodeResponse(tt.action, b)
		if derr != nil {
			t.Fatalf("%s: %v", tt.action, derr)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(b) {
			t.Errorf("%s: round trip %s → %s", tt.action, b, b2)
		}
	}
}

// TestTagsMatchSchema marshals the zero value of every message type: whatever else is wrong
// with a zero value (empty enums, null arrays), it must never contain a property the schema
// does not know.
func TestTagsMatchSchema(t *testing.T) {
	for _, a := range Actions() {
		for _, tc := range []struct {
			v        any
			validate func(string, []byte) *ocppj.Error
		}{{NewRequest(a), ValidateRequest}, {NewResponse(a), ValidateResponse}} {
			if tc.v == nil {
				continue
			}
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if verr := tc.validate(a, b); verr != nil && strings.Contains(verr.Msg, "not allowed") {
				t.Errorf("%s %T: %v", a, tc.v, verr)
			}
		}
	}
}

func TestActions(t *testing.T) {
	acts := Actions()
	if len(acts) != 64 {
		t.Errorf("%d actions, want 64", len(acts))
	}
	for i := 1; i < len(acts); i++ {
		if acts[i-1] >= acts[i] {
			t.Fatalf("not sorted: %q before %q", acts[i-1], acts[i])
		}
	}
	if Version != ocppj.V201 {
		t.Errorf("Version = %v", Version)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add("BootNotification", []byte(bootOK))
	f.Add("MeterValues", []byte(meterValues))
	f.Add("StatusNotification", []byte(`{"timestamp":"2024-05-01T10:00:00Z","connectorStatus":"Occupied","evseId":1,"connectorId":1}`))
	f.Add("Authorize", []byte(`{"idToken":{"idToken":"\u00e9\ud83d\ude00","type":"ISO14443"}}`))
	f.Add("DataTransfer", []byte(`{"vendorId":"a","data":[1,{"b":null}]}`))
	f.Add("Heartbeat", []byte(`{}`))
	f.Add("Nope", []byte(`{`))
	f.Fuzz(func(t *testing.T, action string, payload []byte) {
		v, err := DecodeRequest(action, payload)
		if err != nil {
			if v != nil || err.Msg == "" {
				t.Fatalf("error %v with value %v", err, v)
			}
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		b, merr := json.Marshal(v)
		if merr != nil {
			t.Fatal(merr)
		}
		if verr := ValidateRequest(action, b); verr != nil && verr.Kind != ocppj.PropertyConstraintViolation {
			t.Fatalf("re-encoded %s: %v", b, verr)
		}
	})
}

func BenchmarkDecodeMeterValues(b *testing.B) {
	p := []byte(meterValues)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest("MeterValues", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateMeterValues(b *testing.B) {
	p := []byte(meterValues)
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateRequest("MeterValues", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBootNotification(b *testing.B) {
	p := []byte(bootOK)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest("BootNotification", p); err != nil {
			b.Fatal(err)
		}
	}
}
