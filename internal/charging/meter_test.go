package charging

import "testing"

func TestParseSample(t *testing.T) {
	cases := []struct {
		value, measurand, unit string
		mult                   int
		want                   int64
		wantUnit               string
		bad                    bool
	}{
		{"12345", "", "", 0, 12345000, "Wh", false},
		{"12.345", EnergyImport, "kWh", 0, 12345000, "Wh", false},
		{"7200.5", PowerImport, "W", 0, 7200500, "W", false},
		{"22", PowerImport, "kW", 0, 22000000, "W", false},
		{"16.1", "Current.Import", "A", 0, 16100, "A", false},
		{"230", "Voltage", "V", 0, 230000, "V", false},
		{"57", SoCMeasurand, "Percent", 0, 57000, "%", false},
		{"1.5", EnergyImport, "Wh", 3, 1500000000 / 1000, "Wh", false}, // 1.5 × 10^3 Wh
		{"1234", EnergyImport, "Wh", -1, 123400, "Wh", false},          // 123.4 Wh
		{"abc", EnergyImport, "Wh", 0, 0, "", true},
	}
	for _, c := range cases {
		got, unit, err := ParseSample(c.value, c.measurand, c.unit, c.mult)
		if (err != nil) != c.bad {
			t.Errorf("%q: err=%v", c.value, err)
			continue
		}
		if !c.bad && (got != c.want || unit != c.wantUnit) {
			t.Errorf("ParseSample(%q,%q,%q,%d) = %d %s, want %d %s", c.value, c.measurand, c.unit, c.mult, got, unit, c.want, c.wantUnit)
		}
	}
}

func TestSessionApplyAndFinish(t *testing.T) {
	s := Session{MeterStart: 1000, Kind: KindCharge, Status: Active}
	s.Apply([]Reading{
		{Measurand: EnergyImport, Milli: 3_500_000},
		{Measurand: EnergyImport, Phase: "L1", Milli: 9_000_000}, // per-phase: not folded
		{Measurand: PowerImport, Milli: 11_000_000},
		{Measurand: SoCMeasurand, Milli: 40_000},
	})
	s.Apply([]Reading{{Measurand: EnergyImport, Milli: 2_000_000}, {Measurand: SoCMeasurand, Milli: 45_000}}) // a stale, lower register never lowers energy
	if s.EnergyWh != 2500 || s.PowerW != 11000 || *s.SoCStart != 40 || *s.SoC != 45 {
		t.Fatalf("after readings: %+v", s)
	}
	stop := int64(4000)
	s.Finish(&stop, s.StartedAt, "EVDisconnected")
	if s.EnergyWh != 3000 || s.Status != Completed || s.StopReason != "EVDisconnected" {
		t.Fatalf("after finish: %+v", s)
	}
	bad := int64(10) // meter reset below start: keep what readings showed
	s2 := Session{MeterStart: 1000, EnergyWh: 700}
	s2.Finish(&bad, s.StartedAt, "")
	if s2.EnergyWh != 700 || s2.StopReason != "Local" {
		t.Fatalf("meter reset: %+v", s2)
	}
	v2g := Session{MeterStart: 0, Kind: KindCharge}
	v2g.Apply([]Reading{{Measurand: EnergyExport, Context: "Transaction.Begin", Milli: 5_000_000}, {Measurand: EnergyExport, Milli: 9_000_000}, {Measurand: EnergyImport, Milli: 1_000_000}})
	if v2g.ExportedWh != 4000 || v2g.EnergyWh != 1000 || v2g.Kind != KindDischarge {
		t.Fatalf("v2g: %+v", v2g)
	}
}
