package csms201

import (
	"testing"
	"time"

	"github.com/evcs/evcs/internal/app"
	v201 "github.com/evcs/evcs/internal/ocpp/v201"
	v21 "github.com/evcs/evcs/internal/ocpp/v21"
)

// TestTranslateChargingProfile: the neutral charging_profile / clear_charging_profile commands
// become SetChargingProfile / ClearChargingProfile payloads valid in 2.0.1 and 2.1.
func TestTranslateChargingProfile(t *testing.T) {
	lim := func(v float64) *float64 { return &v }
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		req     app.CommandRequest
		action  string
		payload string
		bad     bool
	}{
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 1, Limit: lim(10000), Purpose: "TxProfile", TransactionID: "tx-1"},
			"SetChargingProfile", `{"evseId":1,"chargingProfile":{"id":2000001,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative","chargingSchedule":[{"id":2000001,"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":10000}]}],"transactionId":"tx-1"}}`, false},
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 2, Limit: lim(16), RateUnit: "A", Purpose: "TxDefaultProfile", ValidFrom: &from},
			"SetChargingProfile", `{"evseId":2,"chargingProfile":{"id":1000002,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","validFrom":"2026-03-01T10:00:00Z","chargingSchedule":[{"id":1000002,"startSchedule":"2026-03-01T10:00:00Z","chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":16}]}]}}`, false},
		{app.CommandRequest{Kind: "charging_profile", Limit: lim(50000), Purpose: "ChargingStationMaxProfile"},
			"SetChargingProfile", `{"evseId":0,"chargingProfile":{"id":3000000,"stackLevel":0,"chargingProfilePurpose":"ChargingStationMaxProfile","chargingProfileKind":"Relative","chargingSchedule":[{"id":3000000,"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":50000}]}]}}`, false},
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 1, Purpose: "TxProfile", TransactionID: "t"}, "SetChargingProfile", "", true},
		{app.CommandRequest{Kind: "charging_profile", EVSENo: 1, Limit: lim(1), Purpose: "TxProfile"}, "SetChargingProfile", "", true},
		{app.CommandRequest{Kind: "clear_charging_profile", EVSENo: 1, Purpose: "TxProfile"}, "ClearChargingProfile", `{"chargingProfileCriteria":{"evseId":1,"chargingProfilePurpose":"TxProfile"}}`, false},
		{app.CommandRequest{Kind: "clear_charging_profile", ProfileID: 7}, "ClearChargingProfile", `{"chargingProfileId":7}`, false},
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
		if verr := v201.ValidateRequest(action, payload); verr != nil {
			t.Errorf("%s payload breaks the 2.0.1 schema: %v", action, verr)
		}
		if verr := v21.ValidateRequest(action, payload); verr != nil {
			t.Errorf("%s payload breaks the 2.1 schema: %v", action, verr)
		}
	}
}
