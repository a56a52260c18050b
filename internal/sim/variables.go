package sim

import (
	"strconv"
	"strings"
	"time"
)

// variable is one configuration setting, addressed by its 1.6 key and/or its 2.x
// component/variable name.
type variable struct {
	key16     string // "" = not in 1.6
	component string // "" = not in 2.x
	name      string
	value     string
	readonly  bool
	kind      byte // 'i' integer ≥ 0, 'b' boolean, 's' string
}

func defaultVariables(s *Station) []*variable {
	measurands := "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"
	if s.cfg.Kind == "dc" {
		measurands += ",SoC"
	}
	hb := strconv.Itoa(int(s.cfg.HeartbeatInterval / time.Second))
	mv := strconv.Itoa(max(1, int(s.cfg.MeterInterval/time.Second)))
	n := strconv.Itoa(len(s.evses))
	profile := "0"
	if s.cfg.Password != "" {
		profile = "1"
	}
	return []*variable{
		{"HeartbeatInterval", "OCPPCommCtrlr", "HeartbeatInterval", hb, false, 'i'},
		{"MeterValueSampleInterval", "SampledDataCtrlr", "TxUpdatedInterval", mv, false, 'i'},
		{"MeterValuesSampledData", "SampledDataCtrlr", "TxUpdatedMeasurands", measurands, false, 's'},
		{"ClockAlignedDataInterval", "AlignedDataCtrlr", "Interval", "0", false, 'i'},
		{"ConnectionTimeOut", "TxCtrlr", "EVConnectionTimeOut", "60", false, 'i'},
		{"AuthorizeRemoteTxRequests", "AuthCtrlr", "AuthorizeRemoteStart", "false", false, 'b'},
		{"LocalAuthorizeOffline", "AuthCtrlr", "LocalAuthorizeOffline", "true", false, 'b'},
		{"LocalPreAuthorize", "AuthCtrlr", "LocalPreAuthorize", "false", false, 'b'},
		{"StopTransactionOnEVSideDisconnect", "TxCtrlr", "StopTxOnEVSideDisconnect", "true", false, 'b'},
		{"StopTransactionOnInvalidId", "TxCtrlr", "StopTxOnInvalidId", "true", false, 'b'},
		{"TransactionMessageAttempts", "OCPPCommCtrlr", "MessageAttempts", "3", false, 'i'},
		{"TransactionMessageRetryInterval", "OCPPCommCtrlr", "MessageAttemptInterval", "60", false, 'i'},
		{"UnlockConnectorOnEVSideDisconnect", "", "", "true", false, 'b'},
		{"WebSocketPingInterval", "OCPPCommCtrlr", "WebSocketPingInterval", "0", false, 'i'},
		{"ResetRetries", "OCPPCommCtrlr", "ResetRetries", "3", false, 'i'},
		{"LocalAuthListEnabled", "LocalAuthListCtrlr", "Enabled", "true", false, 'b'},
		{"NumberOfConnectors", "", "", n, true, 'i'},
		{"SupportedFeatureProfiles", "", "", "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger", true, 's'},
		{"ChargeProfileMaxStackLevel", "SmartChargingCtrlr", "ProfileStackLevel", "8", true, 'i'},
		{"ChargingScheduleAllowedChargingRateUnit", "SmartChargingCtrlr", "RateUnit", "Current,Power", true, 's'},
		{"GetConfigurationMaxKeys", "", "", "50", true, 'i'},
		{"LocalAuthListMaxLength", "LocalAuthListCtrlr", "Entries", "100", true, 'i'},
		{"", "SecurityCtrlr", "SecurityProfile", profile, true, 'i'},
		{"", "SecurityCtrlr", "Identity", s.id, true, 's'},
		{"", "ChargingStation", "Model", s.cfg.Model, true, 's'},
		{"", "ChargingStation", "VendorName", s.cfg.Vendor, true, 's'},
		{"", "ChargingStation", "AvailabilityState", "Available", true, 's'},
	}
}

func (v *variable) valid(value string) bool {
	switch v.kind {
	case 'i':
		n, err := strconv.Atoi(value)
		return err == nil && n >= 0
	case 'b':
		l := strings.ToLower(value)
		return l == "true" || l == "false"
	}
	return len(value) <= 500
}

// find16 / find2 look a variable up (s.mu held).
func (s *Station) find16(key string) *variable {
	for _, v := range s.vars {
		if v.key16 != "" && v.key16 == key {
			return v
		}
	}
	return nil
}

func (s *Station) find2(component, name string) (v *variable, componentKnown bool) {
	for _, x := range s.vars {
		if x.component != "" && strings.EqualFold(x.component, component) {
			componentKnown = true
			if strings.EqualFold(x.name, name) {
				return x, true
			}
		}
	}
	return nil, componentKnown
}

// setVarLocked stores value under the 1.6 key and applies settings the simulator acts on.
func (s *Station) setVarLocked(key16, value string) {
	if v := s.find16(key16); v != nil {
		v.value = value
	}
}

// applyVarLocked reacts to a changed variable; it reports whether the heartbeat timer must be
// reset.
func (s *Station) applyVarLocked(v *variable) (heartbeat bool) {
	if v.key16 == "HeartbeatInterval" {
		if n, err := strconv.Atoi(v.value); err == nil && n > 0 {
			s.hbEvery = time.Duration(n) * time.Second
			return true
		}
	}
	return false
}
