package v16

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

const bootOK = `{"chargePointVendor":"VendorX","chargePointModel":"M1"}`

const meterValues = `{"connectorId":1,"transactionId":42,"meterValue":[{"timestamp":"2024-05-01T10:00:00Z","sampledValue":[{"value":"1234.5","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unit":"Wh"},{"value":"7200","measurand":"Power.Active.Import","unit":"W","phase":"L1-N"}]}]}`

func TestValidateRequest(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		payload string
		ok      bool
		kind    ocppj.ErrorKind
		code    string // 1.6 errorCode
	}{
		{"boot ok", "BootNotification", bootOK, true, 0, ""},
		{"boot whitespace", "BootNotification", " {\n \"chargePointVendor\" : \"V\" , \"chargePointModel\":\"M\" } ", true, 0, ""},
		{"boot missing model", "BootNotification", `{"chargePointVendor":"VendorX"}`, false, ocppj.OccurrenceConstraintViolation, "OccurenceConstraintViolation"},
		{"boot vendor too long", "BootNotification", `{"chargePointVendor":"123456789012345678901","chargePointModel":"M"}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"boot vendor 20 multibyte", "BootNotification", `{"chargePointVendor":"` + strings.Repeat("é", 20) + `","chargePointModel":"M"}`, true, 0, ""},
		{"boot vendor 20 escaped", "BootNotification", `{"chargePointVendor":"\u00e9` + strings.Repeat("a", 19) + `","chargePointModel":"M"}`, true, 0, ""},
		{"boot vendor number", "BootNotification", `{"chargePointVendor":12,"chargePointModel":"M"}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"boot vendor null", "BootNotification", `{"chargePointVendor":null,"chargePointModel":"M"}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"boot extra property", "BootNotification", `{"chargePointVendor":"V","chargePointModel":"M","colour":"red"}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"boot escaped key", "BootNotification", `{"chargePoint\u0056endor":"V","chargePointModel":"M"}`, true, 0, ""},
		{"boot bad json", "BootNotification", `{"chargePointVendor":"V",`, false, ocppj.FormationViolation, "FormationViolation"},
		{"syntax error wins over schema error", "BootNotification", `{"chargePointVendor":1,"x":}`, false, ocppj.FormationViolation, "FormationViolation"},
		{"boot trailing data", "BootNotification", bootOK + `x`, false, ocppj.FormationViolation, "FormationViolation"},
		{"boot array payload", "BootNotification", `[]`, false, ocppj.FormationViolation, "FormationViolation"},
		{"unknown action", "Teleport", `{}`, false, ocppj.NotImplemented, "NotImplemented"},
		{"status ok", "StatusNotification", `{"connectorId":1,"errorCode":"NoError","status":"Charging"}`, true, 0, ""},
		{"status unknown enum", "StatusNotification", `{"connectorId":1,"errorCode":"NoError","status":"Dancing"}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"status fractional connector", "StatusNotification", `{"connectorId":1.5,"errorCode":"NoError","status":"Charging"}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"status huge connector", "StatusNotification", `{"connectorId":123456789012345678901234,"errorCode":"NoError","status":"Charging"}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"status bad timestamp", "StatusNotification", `{"connectorId":1,"errorCode":"NoError","status":"Charging","timestamp":"yesterday"}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"status timestamp with offset", "StatusNotification", `{"connectorId":1,"errorCode":"NoError","status":"Charging","timestamp":"2024-05-01T10:00:00.123+02:00"}`, true, 0, ""},
		{"meter values ok", "MeterValues", meterValues, true, 0, ""},
		{"meter values missing timestamp", "MeterValues", `{"connectorId":1,"meterValue":[{"sampledValue":[{"value":"1"}]}]}`, false, ocppj.OccurrenceConstraintViolation, "OccurenceConstraintViolation"},
		{"meter values bad unit", "MeterValues", `{"connectorId":1,"meterValue":[{"timestamp":"2024-05-01T10:00:00Z","sampledValue":[{"value":"1","unit":"parsec"}]}]}`, false, ocppj.PropertyConstraintViolation, "PropertyConstraintViolation"},
		{"meter values object not array", "MeterValues", `{"connectorId":1,"meterValue":{}}`, false, ocppj.TypeConstraintViolation, "TypeConstraintViolation"},
		{"start transaction ok", "StartTransaction", `{"connectorId":1,"idTag":"ABC","meterStart":0,"timestamp":"2024-05-01T10:00:00Z"}`, true, 0, ""},
		{"data transfer ok", "DataTransfer", `{"vendorId":"acme","data":"x"}`, true, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRequest(tt.action, []byte(tt.payload))
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateRequest: %v", err)
				}
				v, derr := DecodeRequest(tt.action, []byte(tt.payload))
				if derr != nil || v == nil {
					t.Fatalf("DecodeRequest = %v, %v", v, derr)
				}
				return
			}
			if err == nil {
				t.Fatal("ValidateRequest accepted the payload")
			}
			if err.Kind != tt.kind || err.Kind.Code(ocppj.V16) != tt.code {
				t.Fatalf("error %v (code %s), want %v (%s)", err, err.Kind.Code(ocppj.V16), tt.kind, tt.code)
			}
			if _, derr := DecodeRequest(tt.action, []byte(tt.payload)); derr == nil || derr.Kind != tt.kind {
				t.Fatalf("DecodeRequest error %v, want kind %v", derr, tt.kind)
			}
		})
	}
}

func TestValidateResponseConstraints(t *testing.T) {
	tests := []struct {
		name, action, payload string
		kind                  ocppj.ErrorKind
		ok                    bool
	}{
		{"charging profile limit multiple of 0.1", "SetChargingProfile", chargingProfile("16.1"), 0, true},
		{"charging profile limit not multiple", "SetChargingProfile", chargingProfile("16.05"), ocppj.PropertyConstraintViolation, false},
		{"diagnostics uri", "GetDiagnostics", `{"location":"ftp://example.com/upload"}`, 0, true},
		{"diagnostics not uri", "GetDiagnostics", `{"location":"not a uri"}`, ocppj.PropertyConstraintViolation, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRequest(tt.action, []byte(tt.payload))
			if tt.ok != (err == nil) || (err != nil && err.Kind != tt.kind) {
				t.Fatalf("ValidateRequest = %v", err)
			}
		})
	}
	if err := ValidateResponse("Authorize", []byte(`{"idTagInfo":{"status":"Maybe"}}`)); err == nil || err.Kind != ocppj.PropertyConstraintViolation {
		t.Fatalf("ValidateResponse = %v", err)
	}
	if !strings.Contains(ValidateResponse("Authorize", []byte(`{"idTagInfo":{"status":"Maybe"}}`)).Msg, "idTagInfo.status") {
		t.Error("error message does not name the path")
	}
}

func chargingProfile(limit string) string {
	return `{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":` + limit + `}]}}}`
}

func TestDecodeTyped(t *testing.T) {
	v, err := DecodeRequest("MeterValues", []byte(meterValues))
	if err != nil {
		t.Fatal(err)
	}
	mv, ok := v.(*MeterValuesRequest)
	if !ok {
		t.Fatalf("DecodeRequest returned %T", v)
	}
	if mv.ConnectorID != 1 || mv.TransactionID == nil || *mv.TransactionID != 42 || len(mv.MeterValue) != 1 ||
		mv.MeterValue[0].SampledValue[0].Measurand != MeasurandEnergyActiveImportRegister || mv.MeterValue[0].SampledValue[1].Phase != PhaseL1N {
		t.Fatalf("decoded %+v", mv)
	}
}

// TestResponseRoundTrip marshals typed responses as the server would send them and proves they
// conform to the schema.
func TestResponseRoundTrip(t *testing.T) {
	expiry := "2025-01-01T00:00:00Z"
	tests := []struct {
		action string
		resp   any
	}{
		{"BootNotification", &BootNotificationResponse{Status: BootNotificationResponseStatusAccepted, CurrentTime: "2024-05-01T10:00:00Z", Interval: 300}},
		{"Authorize", &AuthorizeResponse{IDTagInfo: IDTagInfo{Status: IDTagInfoStatusAccepted, ExpiryDate: expiry}}},
		{"StartTransaction", &StartTransactionResponse{TransactionID: 7, IDTagInfo: IDTagInfo{Status: IDTagInfoStatusBlocked}}},
		{"Heartbeat", &HeartbeatResponse{CurrentTime: "2024-05-01T10:00:00Z"}},
		{"MeterValues", &MeterValuesResponse{}},
		{"StatusNotification", &StatusNotificationResponse{}},
		{"StopTransaction", &StopTransactionResponse{}},
		{"DataTransfer", &DataTransferResponse{Status: DataTransferResponseStatusUnknownVendorId}},
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
		b2, _ := json.Marshal(back)
		if string(b2) != string(b) {
			t.Errorf("%s: round trip %s → %s", tt.action, b, b2)
		}
		if got := tt.resp.(interface{ OCPPAction() string }).OCPPAction(); got != tt.action {
			t.Errorf("OCPPAction = %q, want %q", got, tt.action)
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
	if len(acts) != 39 {
		t.Errorf("%d actions, want 39", len(acts))
	}
	for i := 1; i < len(acts); i++ {
		if acts[i-1] >= acts[i] {
			t.Fatalf("not sorted: %q before %q", acts[i-1], acts[i])
		}
	}
	if Version != ocppj.V16 {
		t.Errorf("Version = %v", Version)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add("BootNotification", []byte(bootOK))
	f.Add("MeterValues", []byte(meterValues))
	f.Add("StatusNotification", []byte(`{"connectorId":1,"errorCode":"NoError","status":"Charging","timestamp":"2024-05-01T10:00:00Z"}`))
	f.Add("SetChargingProfile", []byte(chargingProfile("16.1")))
	f.Add("Authorize", []byte(`{"idTag":"\u00e9\ud83d\ude00"}`))
	f.Add("DataTransfer", []byte(`{"vendorId":"a","data":"b"}`))
	f.Add("Heartbeat", []byte(`{}`))
	f.Add("Heartbeat", []byte(`{"a":[[[[{}]]]]}`))
	f.Add("Nope", []byte(`{`))
	f.Fuzz(func(t *testing.T, action string, payload []byte) {
		v, err := DecodeRequest(action, payload)
		if err != nil {
			if v != nil || err.Msg == "" {
				t.Fatalf("error %v with value %v", err, v)
			}
			return
		}
		// Accepted payloads are JSON, and the typed value re-encodes to a conforming payload.
		if !json.Valid(payload) {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		b, merr := json.Marshal(v)
		if merr != nil {
			t.Fatal(merr)
		}
		if verr := ValidateRequest(action, b); verr != nil && verr.Kind != ocppj.PropertyConstraintViolation {
			// Re-encoding may drop escapes or unknown customData keys but must keep types.
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
