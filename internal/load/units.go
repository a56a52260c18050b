package load

// Current ↔ power. Operators size feeders and chargers in amperes per phase; the allocator works
// in watts. The conversions are integer and round towards safety (down), with unity power factor:
//
//	P [W] = U_phase [V] × I [A] × phases
//
// where U_phase is the line-to-neutral voltage. A three-phase supply is named by its
// line-to-line voltage (400 V, 380 V): U_phase = U_LL / √3, computed as U_LL × 10000 / 17321
// and rounded down (400 V → 230 V, 380 V → 219 V), so P = 3 × 230 V × I, which is √3 × 400 V × I
// to within 0.5 %, on the safe side. A single-phase supply is named by its phase voltage (230 V).
// A distribution node's phase limit is three-phase at DefaultPhaseV.

// DefaultPhaseV is the line-to-neutral voltage of the distribution network (230/400 V).
const DefaultPhaseV = 230

// PhaseVoltage is the line-to-neutral voltage of a supply of nominal voltage nominalV with
// phases phases (0 counts as 1). DC (phases ≤ 1) keeps its voltage.
func PhaseVoltage(nominalV, phases int) int64 {
	if nominalV <= 0 {
		nominalV = DefaultPhaseV
		if phases == 3 {
			return DefaultPhaseV
		}
	}
	if phases == 3 && nominalV >= 300 {
		return int64(nominalV) * 10000 / 17321
	}
	return int64(nominalV)
}

// CurrentToW converts a per-phase current in A to W on a supply of nominalV and phases.
func CurrentToW(amps int64, nominalV, phases int) int64 {
	return amps * PhaseVoltage(nominalV, phases) * int64(max(phases, 1))
}

// NodePhaseLimitW is a distribution node's per-phase current limit as power: 3 × 230 V × A.
func NodePhaseLimitW(amps int64) int64 { return amps * DefaultPhaseV * 3 }

// WToDeciAmps converts W to a per-phase current in tenths of an ampere, rounded down, for
// charging profiles in A (OCPP allows one decimal).
func WToDeciAmps(w int64, nominalV, phases int) int64 {
	d := PhaseVoltage(nominalV, phases) * int64(max(phases, 1))
	if d <= 0 {
		return 0
	}
	return w * 10 / d
}

// MinChargeA is the lowest current IEC 61851-1 lets an AC vehicle charge with.
const MinChargeA = 6
