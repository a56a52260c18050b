package monitor

import (
	"errors"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestLifecycle(t *testing.T) {
	c := Condition{Source: "station/CP-1", Kind: KindStationOffline, Active: true, Severity: Warning, Message: "offline"}
	a, ch := Raise(nil, c, "alm_1", t0)
	if ch != Created || a.Status != Raised || a.Count != 1 || a.ID != "alm_1" || !a.RaisedAt.Equal(t0) {
		t.Fatalf("raise: %v %+v", ch, a)
	}
	// The same condition again changes nothing; a re-raise never duplicates.
	if b, ch := Raise(a, c, "alm_2", t0.Add(time.Minute)); ch != Unchanged || b != a {
		t.Fatalf("re-raise: %v %+v", ch, b)
	}
	acked, err := Acknowledge(a, "usr_op", t0.Add(time.Minute))
	if err != nil || acked.Status != Acknowledged || acked.AckedBy != "usr_op" {
		t.Fatalf("ack: %+v %v", acked, err)
	}
	if _, err := Acknowledge(acked, "usr_op", t0); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second ack: %v", err)
	}
	// Only a measured value changed: stored, not announced, still acknowledged.
	c2 := c
	c2.Message = "offline still"
	r, ch := Raise(acked, c2, "x", t0.Add(2*time.Minute))
	if ch != Refreshed || r.Status != Acknowledged || r.ID != "alm_1" {
		t.Fatalf("refresh: %v %+v", ch, r)
	}
	// Escalation re-raises an acknowledged alarm.
	c3 := c
	c3.Severity = Critical
	e, ch := Raise(r, c3, "x", t0.Add(3*time.Minute))
	if ch != Updated || e.Status != Raised || e.Severity != Critical || e.AckedAt != nil || e.ID != "alm_1" {
		t.Fatalf("escalate: %v %+v", ch, e)
	}
	cl, err := Clear(e, "system", t0.Add(4*time.Minute))
	if err != nil || cl.Status != Cleared || cl.ClearedBy != "system" {
		t.Fatalf("clear: %+v %v", cl, err)
	}
	if _, err := Clear(cl, "system", t0); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second clear: %v", err)
	}
	if _, err := Acknowledge(cl, "u", t0); !errs.Is(err, errs.Conflict) {
		t.Fatalf("ack cleared: %v", err)
	}
	// After a clear the condition raises a new alarm.
	if n, ch := Raise(cl, c, "alm_3", t0.Add(5*time.Minute)); ch != Created || n.ID != "alm_3" {
		t.Fatalf("raise after clear: %v %+v", ch, n)
	}
	// Events count.
	ev := Condition{Source: "station/CP-1/security/X", Kind: KindSecurityEvent, Active: true, Severity: Warning, Event: true, Message: "m"}
	a1, _ := Raise(nil, ev, "alm_4", t0)
	a2, ch := Raise(a1, ev, "alm_5", t0.Add(time.Second))
	if ch != Updated || a2.Count != 2 || a2.ID != "alm_4" || !a2.LastAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("event repeat: %v %+v", ch, a2)
	}
}

func TestOffline(t *testing.T) {
	hb := 5 * time.Minute
	p := Presence{StationID: "CP-1", LastSeen: t0}
	for _, tc := range []struct {
		name      string
		connected bool
		at        time.Duration
		want      bool
	}{
		{"just gone", false, time.Minute, false},
		{"one interval", false, hb, false},
		{"just under two", false, 2*hb - time.Second, false},
		{"two intervals", false, 2 * hb, true},
		{"long gone", false, 24 * time.Hour, true},
		{"connected here", true, 24 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Offline(p, tc.connected, hb, DefaultThresholds, t0.Add(tc.at))
			if c.Active != tc.want || c.Source != "station/CP-1" || c.Kind != KindStationOffline {
				t.Fatalf("%+v", c)
			}
			if c.Active && c.Severity != Critical {
				t.Fatalf("severity %s", c.Severity)
			}
		})
	}
}

func TestConnectorFault(t *testing.T) {
	for _, tc := range []struct {
		status, code string
		active       bool
		sev          string
	}{
		{"Faulted", "GroundFailure", true, Critical},
		{"Faulted", "EVCommunicationError", true, Warning},
		{"Faulted", "", true, Warning},
		{"Available", "NoError", false, ""},
		{"Charging", "", false, ""},
	} {
		c := ConnectorFault(charging.StatusChange{StationID: "CP-1", EVSENo: 1, ConnectorNo: 2, Status: tc.status, ErrorCode: tc.code})
		if c.Active != tc.active || c.Severity != tc.sev || c.Source != "connector/CP-1/1/2" {
			t.Errorf("%s/%s: %+v", tc.status, tc.code, c)
		}
		if c.Active && c.Details["error_code"] == "" {
			t.Errorf("%s/%s: no error code: %+v", tc.status, tc.code, c)
		}
	}
}

func TestNodeLoadHysteresis(t *testing.T) {
	const limit = 100_000 // W
	for _, tc := range []struct {
		name    string
		power   int64
		current string
		active  bool
		sev     string
	}{
		{"low", 80_000, "", false, ""},
		{"89.9 %", 89_900, "", false, ""},
		{"90 %", 90_000, "", true, Warning},
		{"99.9 %", 99_900, "", true, Warning},
		{"100 %", 100_000, "", true, Critical},
		{"120 %", 120_000, Warning, true, Critical},
		{"critical holds at 96 %", 96_000, Critical, true, Critical},
		{"critical steps down at 94.9 %", 94_900, Critical, true, Warning},
		{"warning holds at 86 %", 86_000, Warning, true, Warning},
		{"warning holds at 85 %", 85_000, Warning, true, Warning},
		{"warning clears at 84.9 %", 84_900, Warning, false, ""},
		{"critical clears at 80 %", 80_000, Critical, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := NodeLoad("nod_1", "site_1", "T1", limit, tc.power, tc.current, DefaultThresholds)
			if !ok || c.Active != tc.active || c.Severity != tc.sev {
				t.Fatalf("%v %+v", ok, c)
			}
		})
	}
	if _, ok := NodeLoad("nod_1", "", "T1", 0, 5000, "", DefaultThresholds); ok {
		t.Error("a node without a limit has no load alarm")
	}
}

func TestPowerQuality(t *testing.T) {
	good := Sample{VoltageTHD: [3]int64{2000, 2500, 2100}, CurrentTHD: [3]int64{6000, 7000, 5000}, PowerFactor: 970, ApparentVA: 50_000}
	byKind := func(cs []Condition) map[string]Condition {
		m := map[string]Condition{}
		for _, c := range cs {
			m[c.Kind] = c
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		mut    func(*Sample)
		open   map[string]string
		active map[string]bool
		judged []string
	}{
		{"good", func(*Sample) {}, nil, map[string]bool{}, []string{KindVoltageTHD, KindCurrentTHD, KindPowerFactorLow}},
		{"voltage THD high", func(s *Sample) { s.VoltageTHD[1] = 8001 }, nil, map[string]bool{KindVoltageTHD: true}, nil},
		{"voltage THD at limit", func(s *Sample) { s.VoltageTHD[1] = 8000 }, nil, map[string]bool{}, nil},
		{"voltage THD open holds", func(s *Sample) { s.VoltageTHD[1] = 7500 }, map[string]string{KindVoltageTHD: Warning}, map[string]bool{KindVoltageTHD: true}, nil},
		{"voltage THD open clears", func(s *Sample) { s.VoltageTHD[1] = 7000 }, map[string]string{KindVoltageTHD: Warning}, map[string]bool{}, nil},
		{"current THD high", func(s *Sample) { s.CurrentTHD[2] = 25000 }, nil, map[string]bool{KindCurrentTHD: true}, nil},
		{"PF low", func(s *Sample) { s.PowerFactor = -850 }, nil, map[string]bool{KindPowerFactorLow: true}, nil},
		{"PF open holds", func(s *Sample) { s.PowerFactor = 910 }, map[string]string{KindPowerFactorLow: Warning}, map[string]bool{KindPowerFactorLow: true}, nil},
		{"PF open clears", func(s *Sample) { s.PowerFactor = 920 }, map[string]string{KindPowerFactorLow: Warning}, map[string]bool{}, nil},
		{"PF at no load not judged", func(s *Sample) { s.PowerFactor = 100; s.ApparentVA = 500 }, nil, map[string]bool{}, []string{KindVoltageTHD, KindCurrentTHD}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mut(&s)
			got := byKind(PowerQuality("dev_1", "site_1", "Meter", s, tc.open, DefaultThresholds))
			for k, c := range got {
				if c.Active != tc.active[k] || c.Source != "device/dev_1" {
					t.Errorf("%s: %+v", k, c)
				}
			}
			for k := range tc.active {
				if _, ok := got[k]; !ok {
					t.Errorf("%s not judged", k)
				}
			}
			if tc.judged != nil && len(got) != len(tc.judged) {
				t.Errorf("judged %d kinds, want %v", len(got), tc.judged)
			}
		})
	}
}

func TestBattery(t *testing.T) {
	for _, tc := range []struct {
		soh int
		sev string
	}{{100, ""}, {80, ""}, {79, Warning}, {70, Warning}, {69, Critical}} {
		if c := BatteryHealth("bat_1", "S1", tc.soh, DefaultThresholds); c.Severity != tc.sev || c.Active != (tc.sev != "") {
			t.Errorf("SoH %d: %+v", tc.soh, c)
		}
	}
	for _, tc := range []struct {
		milliC int64
		open   bool
		want   bool
	}{{40000, false, false}, {55000, false, false}, {55001, false, true}, {51000, true, true}, {50000, true, false}} {
		if c := BatteryTemperature("bat_1", "S1", tc.milliC, tc.open, DefaultThresholds); c.Active != tc.want {
			t.Errorf("%d open=%v: %+v", tc.milliC, tc.open, c)
		}
	}
}

func TestFirmwareAndSecurity(t *testing.T) {
	for _, tc := range []struct {
		status     string
		ok, active bool
	}{{"InstallationFailed", true, true}, {"DownloadFailed", true, true}, {"InvalidSignature", true, true},
		{"Installed", true, false}, {"Downloading", false, false}, {"Idle", false, false}} {
		c, ok := Firmware("CP-1", tc.status)
		if ok != tc.ok || c.Active != tc.active || c.Kind != KindFirmwareFailed {
			t.Errorf("%s: %v %+v", tc.status, ok, c)
		}
	}
	for _, tc := range []struct {
		typ string
		ok  bool
		sev string
	}{{"TamperDetectionActivated", true, Critical}, {"InvalidTLSVersion", true, Warning}, {"StartupOfTheDevice", false, ""}, {"", false, ""}} {
		c, ok := Security("CP-1", tc.typ, "info")
		if ok != tc.ok || c.Severity != tc.sev || (ok && (!c.Event || c.Source != "station/CP-1/security/"+tc.typ)) {
			t.Errorf("%s: %v %+v", tc.typ, ok, c)
		}
	}
	if c := Unreachable("dev_1", "", "M", errors.New("refused")); !c.Active {
		t.Error("unreachable not raised")
	}
	if c := Unreachable("dev_1", "", "M", nil); c.Active {
		t.Error("reachable raised")
	}
}

func TestSampleReadings(t *testing.T) {
	s := Sample{At: t0, Voltage: [3]int64{230100, 229900, 231000}, PowerW: 12345, PowerFactor: -950, ImportWh: 7}
	rs := s.Readings("dev_1")
	find := func(q, ph string) DeviceReading {
		for _, r := range rs {
			if r.Quantity == q && r.Phase == ph {
				return r
			}
		}
		t.Fatalf("no %s %s", q, ph)
		return DeviceReading{}
	}
	if r := find(QVoltage, "L2"); r.Milli != 229900 || r.Unit != "V" {
		t.Errorf("%+v", r)
	}
	if r := find(QPower, ""); r.Milli != 12345000 || r.Unit != "W" {
		t.Errorf("%+v", r)
	}
	if r := find(QPowerFactor, ""); r.Milli != -950 {
		t.Errorf("%+v", r)
	}
	if r := find(QImport, ""); r.Milli != 7000 {
		t.Errorf("%+v", r)
	}
	for _, r := range rs {
		if r.Quantity == QCompensation {
			t.Error("a meter has no compensation current")
		}
	}
}
