package monitor

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/evcs/evcs/internal/charging"
)

// Thresholds tune the rules. Values are exact integers: per-mille of a limit, milli-percent,
// milli-units. DefaultThresholds documents the defaults.
type Thresholds struct {
	// OfflineAfter is how many heartbeat intervals a station may go unseen before it is offline.
	OfflineAfter int
	// Node load in per-mille of the node's kW limit: warning at LoadWarn, critical at LoadCrit;
	// an open alarm steps down only once the load is LoadHysteresis below the threshold.
	LoadWarn, LoadCrit, LoadHysteresis int64
	// Total harmonic distortion, milli-percent (8000 = 8 %): raised above the limit, cleared
	// once THDHysteresis below it.
	VoltageTHDMax, CurrentTHDMax, THDHysteresis int64
	// Power factor ×1000: raised below PFMin (absolute value), cleared at PFMin+PFHysteresis.
	// Not judged while the apparent power is under PQMinVA (a PF at no load means nothing).
	PFMin, PFHysteresis, PQMinVA int64
	// Battery state of health in percent: warning below SoHWarn, critical below SoHCrit.
	SoHWarn, SoHCrit int
	// Battery temperature in milli-°C: critical above TempMax, cleared TempHysteresis below.
	TempMax, TempHysteresis int64
}

// DefaultThresholds: offline after 2 missed heartbeats; load 90 %/100 % with 5 points of
// hysteresis; voltage THD 8 % (EN 50160), current THD 20 %, 1 point of hysteresis; PF 0.90
// with 0.02 hysteresis at ≥ 1 kVA; SoH warning below 80 %, critical below 70 %; battery
// temperature 55 °C with 5 °C hysteresis.
var DefaultThresholds = Thresholds{
	OfflineAfter: 2,
	LoadWarn:     900, LoadCrit: 1000, LoadHysteresis: 50,
	VoltageTHDMax: 8000, CurrentTHDMax: 20000, THDHysteresis: 1000,
	PFMin: 900, PFHysteresis: 20, PQMinVA: 1000,
	SoHWarn: 80, SoHCrit: 70,
	TempMax: 55000, TempHysteresis: 5000,
}

// Sources.
func StationSource(id string) string { return "station/" + id }
func ConnectorSource(station string, evse, conn int) string {
	return "connector/" + station + "/" + strconv.Itoa(evse) + "/" + strconv.Itoa(conn)
}
func NodeSource(id string) string    { return "node/" + id }
func DeviceSource(id string) string  { return "device/" + id }
func BatterySource(id string) string { return "battery/" + id }

// Offline decides whether a station is offline: it has not been seen (connected here, or
// refreshed by the node holding its socket) for OfflineAfter heartbeat intervals.
func Offline(p Presence, connected bool, heartbeat time.Duration, th Thresholds, now time.Time) Condition {
	c := Condition{Source: StationSource(p.StationID), Kind: KindStationOffline, StationID: p.StationID, SiteID: p.SiteID}
	if connected || heartbeat <= 0 {
		return c
	}
	limit := time.Duration(max(th.OfflineAfter, 1)) * heartbeat
	if now.Sub(p.LastSeen) < limit {
		return c
	}
	c.Active, c.Severity = true, Critical
	c.Message = fmt.Sprintf("station %s offline: not seen since %s", p.StationID, p.LastSeen.UTC().Format(time.RFC3339))
	c.Details = map[string]string{"last_seen": p.LastSeen.UTC().Format(time.RFC3339)}
	return c
}

// safetyFaults are OCPP 1.6 error codes (and their 2.x equivalents) that mean a hazard or a
// dead power path rather than a nuisance: critical.
var safetyFaults = []string{"GroundFailure", "HighTemperature", "OverCurrentFailure", "OverVoltage", "UnderVoltage",
	"PowerSwitchFailure", "PowerMeterFailure", "InternalError", "ConnectorLockFailure"}

// ConnectorFault decides on a connector status report: Faulted raises an alarm carrying the
// OCPP error code (critical for safety faults), any other status clears it.
func ConnectorFault(s charging.StatusChange) Condition {
	c := Condition{Source: ConnectorSource(s.StationID, s.EVSENo, s.ConnectorNo), Kind: KindConnectorFaulted, StationID: s.StationID}
	if s.Status != "Faulted" {
		return c
	}
	code := s.ErrorCode
	if code == "" {
		code = "Unknown"
	}
	c.Active, c.Severity = true, Warning
	if slices.Contains(safetyFaults, code) {
		c.Severity = Critical
	}
	c.Message = fmt.Sprintf("station %s EVSE %d connector %d faulted: %s", s.StationID, s.EVSENo, s.ConnectorNo, code)
	c.Details = map[string]string{"error_code": code}
	if s.VendorErrorCode != "" {
		c.Details["vendor_error_code"] = s.VendorErrorCode
	}
	if s.Info != "" {
		c.Details["info"] = s.Info
	}
	return c
}

// NodeLoad decides on a transformer's or feeder's load: powerW against limitW, with the
// severity of its open alarm (current, "" if none) for hysteresis. ok is false when the node
// has no limit.
func NodeLoad(nodeID, siteID, name string, limitW, powerW int64, current string, th Thresholds) (Condition, bool) {
	c := Condition{Source: NodeSource(nodeID), Kind: KindNodeOverload, SiteID: siteID}
	if limitW <= 0 {
		return c, false
	}
	permille := powerW * 1000 / limitW
	crit, warn := th.LoadCrit, th.LoadWarn
	switch current { // an open alarm holds its level until the load is clearly below it
	case Critical:
		crit -= th.LoadHysteresis
		warn -= th.LoadHysteresis
	case Warning:
		warn -= th.LoadHysteresis
	}
	switch {
	case permille >= crit:
		c.Active, c.Severity = true, Critical
	case permille >= warn:
		c.Active, c.Severity = true, Warning
	default:
		return c, true
	}
	c.Message = fmt.Sprintf("%s at %s %% of its %s kW limit", name, perMilleString(permille), charging.FormatMilli(limitW))
	c.Details = map[string]string{"load_pct": perMilleString(permille), "power_kw": charging.FormatMilli(powerW), "limit_kw": charging.FormatMilli(limitW)}
	return c, true
}

// perMilleString writes 953 as "95.3".
func perMilleString(p int64) string {
	return charging.FormatMilli(p * 100)
}

// PowerQuality judges a device sample against the THD and power-factor limits. open holds the
// severities of the device's open alarms by kind, for hysteresis. A sample without a quantity
// (zero PF at no load) leaves that alarm as it is.
func PowerQuality(deviceID, siteID, name string, s Sample, open map[string]string, th Thresholds) []Condition {
	var out []Condition
	thd := func(kind, what string, vals [3]int64, limit int64) {
		c := Condition{Source: DeviceSource(deviceID), Kind: kind, SiteID: siteID}
		worst, phase := int64(-1), 0
		for i, v := range vals {
			if v > worst {
				worst, phase = v, i+1
			}
		}
		if worst < 0 {
			return
		}
		bound := limit
		if open[kind] != "" {
			bound -= th.THDHysteresis
		}
		if worst > bound {
			c.Active, c.Severity = true, Warning
			c.Message = fmt.Sprintf("%s: %s THD %s %% on L%d above %s %%", name, what, charging.FormatMilli(worst), phase, charging.FormatMilli(limit))
			c.Details = map[string]string{"thd_pct": charging.FormatMilli(worst), "phase": "L" + strconv.Itoa(phase), "limit_pct": charging.FormatMilli(limit)}
		}
		out = append(out, c)
	}
	thd(KindVoltageTHD, "voltage", s.VoltageTHD, th.VoltageTHDMax)
	thd(KindCurrentTHD, "current", s.CurrentTHD, th.CurrentTHDMax)
	if abs(s.ApparentVA) >= th.PQMinVA {
		c := Condition{Source: DeviceSource(deviceID), Kind: KindPowerFactorLow, SiteID: siteID}
		bound := th.PFMin
		if open[KindPowerFactorLow] != "" {
			bound += th.PFHysteresis
		}
		if pf := abs(s.PowerFactor); pf < bound {
			c.Active, c.Severity = true, Warning
			c.Message = fmt.Sprintf("%s: power factor %s below %s", name, charging.FormatMilli(pf), charging.FormatMilli(th.PFMin))
			c.Details = map[string]string{"power_factor": charging.FormatMilli(pf), "limit": charging.FormatMilli(th.PFMin)}
		}
		out = append(out, c)
	}
	return out
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// BatteryHealth judges a battery's state of health.
func BatteryHealth(id, serial string, sohPct int, th Thresholds) Condition {
	c := Condition{Source: BatterySource(id), Kind: KindBatterySoHLow}
	switch {
	case sohPct < th.SoHCrit:
		c.Severity = Critical
	case sohPct < th.SoHWarn:
		c.Severity = Warning
	default:
		return c
	}
	c.Active = true
	c.Message = fmt.Sprintf("battery %s state of health %d %% (replace below %d %%)", serial, sohPct, th.SoHWarn)
	c.Details = map[string]string{"soh_pct": strconv.Itoa(sohPct)}
	return c
}

// BatteryTemperature judges a battery's temperature (milli-°C); open tells whether its alarm
// is open, for hysteresis.
func BatteryTemperature(id, serial string, milliC int64, open bool, th Thresholds) Condition {
	c := Condition{Source: BatterySource(id), Kind: KindBatteryOverTemp}
	bound := th.TempMax
	if open {
		bound -= th.TempHysteresis
	}
	if milliC <= bound {
		return c
	}
	c.Active, c.Severity = true, Critical
	c.Message = fmt.Sprintf("battery %s at %s °C (limit %s °C)", serial, charging.FormatMilli(milliC), charging.FormatMilli(th.TempMax))
	c.Details = map[string]string{"temperature_c": charging.FormatMilli(milliC)}
	return c
}

// firmwareFailed are the FirmwareStatusNotification statuses (1.6 and 2.x) of a failed update.
var firmwareFailed = []string{"DownloadFailed", "InstallationFailed", "InstallVerificationFailed", "InvalidSignature", "DownloadSignatureFailed"}

// Firmware decides on a firmware status report: a failure raises, Installed clears, any other
// status (progress) says nothing (ok false).
func Firmware(stationID, status string) (Condition, bool) {
	c := Condition{Source: StationSource(stationID), Kind: KindFirmwareFailed, StationID: stationID}
	switch {
	case slices.Contains(firmwareFailed, status):
		c.Active, c.Severity = true, Warning
		c.Message = fmt.Sprintf("station %s firmware update failed: %s", stationID, status)
		c.Details = map[string]string{"status": status}
		return c, true
	case status == "Installed":
		return c, true
	}
	return c, false
}

// Security event types (OCPP 2.x, and 1.6 with the security extension) that are routine and
// raise nothing, and those that are critical; any other type is a warning.
var (
	securityRoutine  = []string{"StartupOfTheDevice", "ResetOrReboot", "FirmwareUpdated", "SettingSystemTime", "MaintenanceLoginAccepted", "ReconfigurationOfSecurityParameters"}
	securityCritical = []string{"TamperDetectionActivated", "SecurityLogWasCleared", "InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate", "MemoryExhaustion", "AttemptedReplayAttacks"}
)

// Security decides on a security event: one alarm per station and event type, counting
// repeats; cleared by an operator. ok is false for routine events.
func Security(stationID, typ, techInfo string) (Condition, bool) {
	if typ == "" || slices.Contains(securityRoutine, typ) {
		return Condition{}, false
	}
	c := Condition{Source: StationSource(stationID) + "/security/" + typ, Kind: KindSecurityEvent, StationID: stationID,
		Active: true, Severity: Warning, Event: true}
	if slices.Contains(securityCritical, typ) {
		c.Severity = Critical
	}
	c.Message = fmt.Sprintf("station %s security event %s", stationID, typ)
	c.Details = map[string]string{"type": typ}
	if techInfo != "" {
		c.Details["tech_info"] = techInfo
	}
	return c, true
}

// Unreachable decides on a device poll: an error raises (warning), a good read clears.
func Unreachable(deviceID, siteID, name string, err error) Condition {
	c := Condition{Source: DeviceSource(deviceID), Kind: KindDeviceUnreachable, SiteID: siteID}
	if err == nil {
		return c
	}
	c.Active, c.Severity = true, Warning
	c.Message = fmt.Sprintf("%s does not answer: %v", name, err)
	return c
}
