package v21

import (
	"encoding/json"
	"testing"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

func TestBatterySwapRoundTrip(t *testing.T) {
	req := &BatterySwapRequest{
		EventType: BatterySwapEventBatteryIn,
		IDToken:   IdTokenType{IDToken: "04A1B2C3", Type: "ISO14443"},
		RequestID: 17,
		BatteryData: []BatteryDataType{
			{EvseID: 1, SerialNumber: "BAT-0001", SoC: 23.5, SoH: 97, ProductionDate: "2023-02-01T00:00:00Z"},
		},
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	v, verr := DecodeRequest("BatterySwap", b)
	if verr != nil {
		t.Fatalf("%s: %v", b, verr)
	}
	got := v.(*BatterySwapRequest)
	if got.EventType != req.EventType || got.IDToken.IDToken != req.IDToken.IDToken || got.IDToken.Type != req.IDToken.Type || got.RequestID != 17 ||
		len(got.BatteryData) != 1 || got.BatteryData[0] != req.BatteryData[0] {
		t.Fatalf("round trip %+v", got)
	}
	resp, _ := json.Marshal(&BatterySwapResponse{})
	if verr := ValidateResponse("BatterySwap", resp); verr != nil {
		t.Fatal(verr)
	}

	bad := []struct {
		name, payload string
		kind          ocppj.ErrorKind
	}{
		{"soc above 100", `{"eventType":"BatteryIn","idToken":{"idToken":"a","type":"Central"},"requestId":1,"batteryData":[{"evseId":1,"serialNumber":"s","soC":101,"soH":90}]}`, ocppj.PropertyConstraintViolation},
		{"negative evse", `{"eventType":"BatteryIn","idToken":{"idToken":"a","type":"Central"},"requestId":1,"batteryData":[{"evseId":-1,"serialNumber":"s","soC":10,"soH":90}]}`, ocppj.PropertyConstraintViolation},
		{"no batteries", `{"eventType":"BatteryIn","idToken":{"idToken":"a","type":"Central"},"requestId":1,"batteryData":[]}`, ocppj.PropertyConstraintViolation},
		{"unknown event", `{"eventType":"BatteryLost","idToken":{"idToken":"a","type":"Central"},"requestId":1,"batteryData":[{"evseId":1,"serialNumber":"s","soC":10,"soH":90}]}`, ocppj.PropertyConstraintViolation},
		{"missing soH", `{"eventType":"BatteryIn","idToken":{"idToken":"a","type":"Central"},"requestId":1,"batteryData":[{"evseId":1,"serialNumber":"s","soC":10}]}`, ocppj.OccurrenceConstraintViolation},
	}
	for _, tt := range bad {
		if err := ValidateRequest("BatterySwap", []byte(tt.payload)); err == nil || err.Kind != tt.kind {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.kind)
		}
	}
}

func TestSendMessageHasNoResponse(t *testing.T) {
	if NewRequest("NotifyPeriodicEventStream") == nil {
		t.Fatal("no request type for the SEND message")
	}
	if err := ValidateResponse("NotifyPeriodicEventStream", []byte(`{}`)); err == nil || err.Kind != ocppj.NotImplemented {
		t.Fatalf("ValidateResponse = %v", err)
	}
}
