package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestMeterCurve(t *testing.T) {
	for _, kind := range []string{"ac", "dc"} {
		for seed := uint64(1); seed <= 20; seed++ {
			rng := rand.New(rand.NewPCG(seed, 7))
			m := NewMeter(kind, rng)
			lo, hi := int64(7000), int64(22000)
			if kind == "dc" {
				lo, hi = 50000, 350000
			}
			if m.MaxW < lo || m.MaxW > hi {
				t.Fatalf("%s rating %d W outside [%d, %d]", kind, m.MaxW, lo, hi)
			}
			m.PlugIn(rng)
			prev := m.Sample()
			for i := 0; i < 1000; i++ {
				m.Advance(time.Minute)
				s := m.Sample()
				if s.EnergyWh < prev.EnergyWh {
					t.Fatalf("%s: energy went down %d → %d", kind, prev.EnergyWh, s.EnergyWh)
				}
				if s.PowerW < 0 || s.PowerW > m.MaxW {
					t.Fatalf("%s: power %d W outside [0, %d]", kind, s.PowerW, m.MaxW)
				}
				if !prev.Full && !s.Full && s.PowerW == 0 {
					t.Fatalf("%s: no power before the battery is full", kind)
				}
				if kind == "ac" {
					if s.VoltageV != 230 && s.VoltageV != 400 {
						t.Fatalf("AC voltage %d", s.VoltageV)
					}
					if !s.Full && s.PowerW != m.MaxW {
						t.Fatalf("AC charges flat: %d W, rating %d W", s.PowerW, m.MaxW)
					}
				} else {
					if !s.HasSoC || s.SoCPercent < prev.SoCPercent || s.SoCPercent > 100 {
						t.Fatalf("DC SoC %d%% after %d%%", s.SoCPercent, prev.SoCPercent)
					}
					if s.SoCPercent > 56 && prev.SoCPercent > 56 && s.PowerW > prev.PowerW {
						t.Fatalf("DC power rose in the taper: %d → %d W at %d%%", prev.PowerW, s.PowerW, s.SoCPercent)
					}
				}
				prev = s
			}
			if !prev.Full {
				t.Fatalf("%s: battery not full after 1000 minutes", kind)
			}
		}
	}
}

func TestMeterEnergyExact(t *testing.T) {
	// 11 kW for 1 s steps: rounding to Wh must not lose energy (carried in W·ms).
	m := &Meter{Kind: "ac", MaxW: 11000, Phases: 3, VoltageV: 400, CapacityWh: 1 << 40}
	for i := 0; i < 3600; i++ {
		m.Advance(time.Second)
	}
	if m.EnergyWh != 11000 {
		t.Fatalf("energy after 1 h at 11 kW = %d Wh, want 11000", m.EnergyWh)
	}
	if s := m.Sample(); s.CurrentDA < 158 || s.CurrentDA > 159 {
		t.Fatalf("11 kW three-phase current = %s A, want ~15.9", deci(s.CurrentDA))
	}
}

func TestMeterLimit(t *testing.T) {
	m := &Meter{Kind: "ac", MaxW: 22000, Phases: 3, VoltageV: 400, CapacityWh: 1 << 40}
	m.LimitW = m.LimitToW(16, "A")
	m.Advance(time.Minute)
	if m.PowerW != 16*230*3 {
		t.Fatalf("16 A three-phase cap: %d W", m.PowerW)
	}
	m.LimitW = m.LimitToW(5000, "W")
	m.Advance(time.Minute)
	if m.PowerW != 5000 {
		t.Fatalf("5 kW cap: %d W", m.PowerW)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	p50, p99 := h.quantile(0.5), h.quantile(0.99)
	if p50 < 470*time.Microsecond || p50 > 530*time.Microsecond {
		t.Errorf("p50 = %v", p50)
	}
	if p99 < 930*time.Microsecond || p99 > 1050*time.Microsecond {
		t.Errorf("p99 = %v", p99)
	}
	for _, ns := range []uint64{0, 1, 15, 16, 17, 31, 32, 1000, 123456789, 1 << 40} {
		mid := bucketMid(bucketOf(ns))
		if ns >= 16 && (mid < ns*15/16 || mid > ns*17/16) {
			t.Errorf("bucket of %d has middle %d", ns, mid)
		}
	}
}
