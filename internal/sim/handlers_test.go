package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

type csmsCall struct {
	action, payload string
	want            string // expected "status" (or a substring of the reply); "" = any valid reply
}

// Every CSMS-initiated call the simulator supports gets a schema-valid reply (ValidateResponse
// of its version), the realistic exceptions are Rejected, unknown ones are NotImplemented, and
// the follow-up messages (remote start, triggers, reports, uploads) validate too (the fake
// checks each CALL it receives).
func TestCSMSCallsAnswered(t *testing.T) {
	ts := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	for _, v := range versions {
		t.Run(v.String(), func(t *testing.T) {
			f := newFakeCSMS(t, v)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := testConfig(f.url(), v)
			cfg.Kind = "ac"
			st, err := NewStation(cfg, "CP-H")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Boot(ctx); err != nil {
				t.Fatal(err)
			}
			check := func(c csmsCall) ocppj.Message {
				t.Helper()
				m := f.call(c.action, c.payload)
				if m.Type != ocppj.TypeCallResult {
					t.Fatalf("%s %s: %s %s", c.action, c.payload, m.ErrorCode, m.ErrorDescription)
				}
				if err := validateResponse(v, c.action, m.Payload); err != nil {
					t.Fatalf("%s reply %s fails the schema: %v", c.action, m.Payload, err)
				}
				if c.want != "" && !strings.Contains(string(m.Payload), c.want) {
					t.Fatalf("%s reply %s, want %s", c.action, m.Payload, c.want)
				}
				return m
			}
			st_ := func(s string) string { return `"status":"` + s + `"` }

			var remote func() string
			var calls []csmsCall
			if v == ocppj.V16 {
				calls = []csmsCall{
					{"GetConfiguration", `{}`, `"NumberOfConnectors"`},
					{"GetConfiguration", `{"key":["HeartbeatInterval","NoSuchKey"]}`, `"unknownKey":["NoSuchKey"]`},
					{"ChangeConfiguration", `{"key":"MeterValueSampleInterval","value":"30"}`, st_("Accepted")},
					{"ChangeConfiguration", `{"key":"NumberOfConnectors","value":"5"}`, st_("Rejected")},
					{"ChangeConfiguration", `{"key":"NoSuchKey","value":"5"}`, st_("NotSupported")},
					{"TriggerMessage", `{"requestedMessage":"Heartbeat"}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"StatusNotification","connectorId":2}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"MeterValues","connectorId":1}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"BootNotification"}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"DiagnosticsStatusNotification"}`, st_("Accepted")},
					{"ChangeAvailability", `{"connectorId":0,"type":"Operative"}`, st_("Accepted")},
					{"SetChargingProfile", `{"connectorId":1,"csChargingProfiles":{"chargingProfileId":7,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":6}]}}}`, st_("Accepted")},
					{"GetCompositeSchedule", `{"connectorId":1,"duration":3600,"chargingRateUnit":"A"}`, `"limit":6`},
					{"UnlockConnector", `{"connectorId":2}`, st_("Unlocked")},
					{"DataTransfer", `{"vendorId":"com.example","messageId":"ping","data":"hello"}`, st_("Accepted")},
					{"ClearCache", `{}`, st_("Accepted")},
					{"SendLocalList", `{"listVersion":3,"updateType":"Full","localAuthorizationList":[{"idTag":"A"}]}`, st_("Accepted")},
					{"GetLocalListVersion", `{}`, `"listVersion":3`},
					{"ReserveNow", `{"connectorId":2,"expiryDate":"` + ts + `","idTag":"TAG-OK","reservationId":5}`, st_("Accepted")},
					{"ReserveNow", `{"connectorId":2,"expiryDate":"` + ts + `","idTag":"TAG-OK","reservationId":6}`, st_("Occupied")},
					{"CancelReservation", `{"reservationId":5}`, st_("Accepted")},
					{"CancelReservation", `{"reservationId":5}`, st_("Rejected")},
					{"GetDiagnostics", `{"location":"ftp://example.com/diag/"}`, `"fileName"`},
					{"UpdateFirmware", `{"location":"https://example.com/fw.bin","retrieveDate":"` + ts + `"}`, ""},
					{"RemoteStopTransaction", `{"transactionId":424242}`, st_("Rejected")},
				}
				remote = func() string { return `{"connectorId":1,"idTag":"TAG-OK"}` }
			} else {
				calls = []csmsCall{
					{"GetVariables", `{"getVariableData":[{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}},{"component":{"name":"NoSuchCtrlr"},"variable":{"name":"Foo"}},{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"Foo"}}]}`, `"UnknownComponent"`},
					{"SetVariables", `{"setVariableData":[{"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"},"attributeValue":"120"},{"component":{"name":"SecurityCtrlr"},"variable":{"name":"SecurityProfile"},"attributeValue":"3"}]}`, `"Rejected"`},
					{"GetBaseReport", `{"requestId":1,"reportBase":"ConfigurationInventory"}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"Heartbeat"}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"StatusNotification","evse":{"id":2,"connectorId":1}}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"MeterValues"}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"BootNotification"}`, st_("Accepted")},
					{"TriggerMessage", `{"requestedMessage":"TransactionEvent","evse":{"id":1}}`, st_("Rejected")},
					{"ChangeAvailability", `{"operationalStatus":"Operative","evse":{"id":2}}`, st_("Accepted")},
					{"SetChargingProfile", `{"evseId":1,"chargingProfile":{"id":7,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":[{"id":1,"startSchedule":"` + ts + `","chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":3000}]}]}}`, st_("Accepted")},
					{"GetCompositeSchedule", `{"duration":3600,"evseId":1}`, `"limit":3000`},
					{"UnlockConnector", `{"evseId":2,"connectorId":1}`, st_("Unlocked")},
					{"DataTransfer", `{"vendorId":"com.example","messageId":"ping","data":"hello"}`, st_("Accepted")},
					{"ClearCache", `{}`, st_("Accepted")},
					{"SendLocalList", `{"versionNumber":3,"updateType":"Full"}`, st_("Accepted")},
					{"GetLocalListVersion", `{}`, `"versionNumber":3`},
					{"ReserveNow", `{"id":5,"expiryDateTime":"` + ts + `","idToken":{"idToken":"TAG-OK","type":"ISO14443"},"evseId":2}`, st_("Accepted")},
					{"CancelReservation", `{"reservationId":5}`, st_("Accepted")},
					{"CancelReservation", `{"reservationId":5}`, st_("Rejected")},
					{"GetLog", `{"log":{"remoteLocation":"https://example.com/logs/"},"logType":"DiagnosticsLog","requestId":9}`, st_("Accepted")},
					{"UpdateFirmware", `{"requestId":3,"firmware":{"location":"https://example.com/fw.bin","retrieveDateTime":"` + ts + `"}}`, st_("Accepted")},
					{"RequestStopTransaction", `{"transactionId":"no-such-tx"}`, st_("Rejected")},
				}
				remote = func() string {
					return `{"evseId":1,"remoteStartId":77,"idToken":{"idToken":"TAG-OK","type":"ISO14443"}}`
				}
			}
			for _, c := range calls {
				check(c)
			}

			// Remote start runs a real session; a second one on the busy EVSE is Rejected.
			startAction := "RemoteStartTransaction"
			stopAction := "RemoteStopTransaction"
			if v != ocppj.V16 {
				startAction, stopAction = "RequestStartTransaction", "RequestStopTransaction"
			}
			from := len(f.received())
			check(csmsCall{startAction, remote(), st_("Accepted")})
			_, started := f.waitCall(from, func(r received) bool {
				return r.msg.Action == "StartTransaction" || eventTypeOf(r.msg) == "Started"
			})
			check(csmsCall{startAction, remote(), st_("Rejected")})
			if v != ocppj.V16 && !strings.Contains(string(started.msg.Payload), `"remoteStartId":77`) {
				t.Fatalf("Started event without remoteStartId: %s", started.msg.Payload)
			}
			// The profile caps the session's power.
			tx, ok := st.Transaction(1)
			if !ok {
				t.Fatal("no transaction after remote start")
			}
			var stopPayload string
			if v == ocppj.V16 {
				f.waitCall(from, func(r received) bool {
					return r.msg.Action == "StatusNotification" && strings.Contains(r.raw, "Charging")
				})
				tx, _ = st.Transaction(1)
				stopPayload = fmt.Sprintf(`{"transactionId":%d}`, tx.CSMSID)
			} else {
				stopPayload = fmt.Sprintf(`{"transactionId":%q}`, tx.ID)
				check(csmsCall{"TriggerMessage", `{"requestedMessage":"TransactionEvent","evse":{"id":1}}`, st_("Accepted")})
			}
			capW := int64(3000)
			if v == ocppj.V16 {
				m := st.evses[0].meter
				capW = m.LimitToW(6, "A")
			}
			if smp, err := st.SendMeterValues(ctx, 1); err != nil || smp.PowerW > capW || smp.PowerW == 0 {
				t.Fatalf("power %d W under a %d W profile (%v)", smp.PowerW, capW, err)
			}
			check(csmsCall{"ClearChargingProfile", clearProfile(v), st_("Accepted")})
			check(csmsCall{"ClearChargingProfile", clearProfile(v), st_("Unknown")})
			check(csmsCall{stopAction, stopPayload, st_("Accepted")})
			f.waitCall(from, func(r received) bool {
				return r.msg.Action == "StopTransaction" || eventTypeOf(r.msg) == "Ended"
			})
			if v != ocppj.V16 {
				f.waitCall(0, action("NotifyReport"))
				f.waitCall(0, func(r received) bool {
					return r.msg.Action == "LogStatusNotification" && strings.Contains(r.raw, "Uploaded")
				})
				f.waitCall(0, func(r received) bool {
					return r.msg.Action == "FirmwareStatusNotification" && strings.Contains(r.raw, "Installed")
				})
				f.waitCall(0, action("MeterValues"))
			} else {
				f.waitCall(0, func(r received) bool {
					return r.msg.Action == "DiagnosticsStatusNotification" && strings.Contains(r.raw, "Uploaded")
				})
				f.waitCall(0, func(r received) bool {
					return r.msg.Action == "FirmwareStatusNotification" && strings.Contains(r.raw, "Installed")
				})
			}
			check(csmsCall{"Reset", resetPayload(v), st_("Accepted")})

			// Unknown to the simulator → NotImplemented; schema-invalid → a payload error.
			if m := f.call("CertificateSigned", `{"certificateChain":"x"}`); m.Type != ocppj.TypeCallError || m.ErrorCode != "NotImplemented" {
				t.Fatalf("CertificateSigned: %+v", m)
			}
			if m := f.call("Reset", `{"type":42}`); m.Type != ocppj.TypeCallError || m.ErrorCode == "NotImplemented" {
				t.Fatalf("invalid Reset: %+v", m)
			}
			// The triggered Heartbeat goes out after the TriggerMessage answer: wait for it to
			// arrive rather than read the station's state at once (that raced under load).
			f.waitCall(0, action("Heartbeat"))
		})
	}
}

func clearProfile(v ocppj.Version) string {
	if v == ocppj.V16 {
		return `{"id":7}`
	}
	return `{"chargingProfileId":7}`
}

func resetPayload(v ocppj.Version) string {
	if v == ocppj.V16 {
		return `{"type":"Soft"}`
	}
	return `{"type":"Immediate"}`
}
