package csms16

import (
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	v16 "github.com/evcs/evcs/internal/ocpp/v16"
)

// TestTranslateChargingProfile: the neutral charging_profile / clear_charging_profile commands
// become schema-valid 1.6 SetChargingProfile / ClearChargingProfile payloads.
func TestTranslateChargingProfile(t *testing.T) {
	lim := func(v float64) *float64 { return &v }
	zero, from := 0, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		req     app.CommandRequest
		action  string
		payload string
		bad     bool
	}{
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 1, Limit: lim(10000), Purpose: "TxProfile", TransactionID: "42", StackLevel: &zero},
			"SetChargingProfile", `{"connectorId":1,"csChargingProfiles":{"chargingProfileId":2000001,"transactionId":42,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":10000}]}}}`, false},
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 2, Limit: lim(16.5), RateUnit: "A", NumberPhases: 3, Purpose: "TxDefaultProfile", ValidFrom: &from},
			"SetChargingProfile", `{"connectorId":2,"csChargingProfiles":{"chargingProfileId":1000002,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","validFrom":"2026-03-01T10:00:00Z","chargingSchedule":{"startSchedule":"2026-03-01T10:00:00Z","chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":16.5,"numberPhases":3}]}}}`, false},
		{app.CommandRequest{Kind: "charging_profile", Limit: lim(50000), Purpose: "ChargingStationMaxProfile", ProfileID: 9},
			"SetChargingProfile", `{"connectorId":0,"csChargingProfiles":{"chargingProfileId":9,"stackLevel":0,"chargingProfilePurpose":"ChargePointMaxProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":50000}]}}}`, false},
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 1, Purpose: "TxProfile", TransactionID: "42"}, "SetChargingProfile", "", true},
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 1, Limit: lim(1), Purpose: "TxProfile", TransactionID: "uuid"}, "SetChargingProfile", "", true},
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 1, Limit: lim(1), Purpose: "ChargingStationMaxProfile"}, "SetChargingProfile", "", true},
		{app.CommandRequest{Kind: "clear_charging_profile", EVSENo: 1, Purpose: "TxProfile"}, "ClearChargingProfile", `{"connectorId":1,"chargingProfilePurpose":"TxProfile"}`, false},
		{app.CommandRequest{Kind: "clear_charging_profile", ProfileID: 7}, "ClearChargingProfile", `{"id":7}`, false},
	}
	for _, c := range cases {
		action, payload, err := translate(c.req)
		if c.bad {
			if err == nil {
				t.Errorf("%+v: no error", c.req)
			}
			continue
		}
		if err != nil || action != c.action || string(payload) != c.payload {
			t.Errorf("%+v =\n %s %s %v, want\n %s %s", c.req, action, payload, err, c.action, c.payload)
			continue
		}
		if verr := v16.ValidateRequest(action, payload); verr != nil {
			t.Errorf("%s payload breaks the 1.6 schema: %v", action, verr)
		}
	}
}
