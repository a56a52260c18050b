// Package modbus reads site meters and active filters over Modbus TCP and plays such devices
// for tests and the demo (evcs sim modbus).
//
// # Register map
//
// EVCS devices (or a gateway in front of them) expose one block of holding registers
// (function 0x03) starting at address 0. Every quantity is a signed two's-complement integer,
// big-endian, high word first, in exact units, so no floating point is ever involved:
//
//	addr  regs  quantity                                 unit
//	 0    2     voltage L1-N                             mV
//	 2    2     voltage L2-N                             mV
//	 4    2     voltage L3-N                             mV
//	 6    2     current L1                               mA
//	 8    2     current L2                               mA
//	10    2     current L3                               mA
//	12    2     active power, total (import > 0)         W
//	14    2     reactive power, total                    var
//	16    2     apparent power, total                    VA
//	18    2     power factor, total                      ×0.001 (signed)
//	20    2     frequency                                mHz
//	22    2     voltage THD L1                           0.001 %
//	24    2     voltage THD L2                           0.001 %
//	26    2     voltage THD L3                           0.001 %
//	28    2     current THD L1                           0.001 %
//	30    2     current THD L2                           0.001 %
//	32    2     current THD L3                           0.001 %
//	34    4     active energy import                     Wh (64-bit)
//	38    4     active energy export                     Wh (64-bit)
//	42    2     compensation current L1 (active filter)  mA
//	44    2     compensation current L2 (active filter)  mA
//	46    2     compensation current L3 (active filter)  mA
//	48    1     device kind: 1 meter, 2 active filter
//	49    1     register map version (1)
//
// The poller reads the whole block (50 registers) in one request.
package modbus

import (
	"github.com/evcs/evcs/internal/monitor"
)

// Register addresses of the map above.
const (
	RegVoltage      = 0
	RegCurrent      = 6
	RegPower        = 12
	RegReactive     = 14
	RegApparent     = 16
	RegPowerFactor  = 18
	RegFrequency    = 20
	RegVoltageTHD   = 22
	RegCurrentTHD   = 28
	RegImport       = 34
	RegExport       = 38
	RegCompensation = 42
	RegKind         = 48
	RegVersion      = 49
	BlockSize       = 50

	KindMeter  = 1
	KindFilter = 2
	MapVersion = 1
)

// Encode lays a sample out as the register block.
func Encode(s monitor.Sample) []uint16 {
	r := make([]uint16, BlockSize)
	put32 := func(addr int, v int64) {
		u := uint32(int32(v))
		r[addr], r[addr+1] = uint16(u>>16), uint16(u)
	}
	put64 := func(addr int, v int64) {
		u := uint64(v)
		r[addr], r[addr+1], r[addr+2], r[addr+3] = uint16(u>>48), uint16(u>>32), uint16(u>>16), uint16(u)
	}
	for i := range 3 {
		put32(RegVoltage+2*i, s.Voltage[i])
		put32(RegCurrent+2*i, s.Current[i])
		put32(RegVoltageTHD+2*i, s.VoltageTHD[i])
		put32(RegCurrentTHD+2*i, s.CurrentTHD[i])
		put32(RegCompensation+2*i, s.Compensation[i])
	}
	put32(RegPower, s.PowerW)
	put32(RegReactive, s.ReactiveVar)
	put32(RegApparent, s.ApparentVA)
	put32(RegPowerFactor, s.PowerFactor)
	put32(RegFrequency, s.FrequencyMH)
	put64(RegImport, s.ImportWh)
	put64(RegExport, s.ExportWh)
	r[RegKind] = KindMeter
	if s.Filter {
		r[RegKind] = KindFilter
	}
	r[RegVersion] = MapVersion
	return r
}

// Decode reads a register block (at least BlockSize registers) into a sample (At unset).
func Decode(r []uint16) monitor.Sample {
	get32 := func(addr int) int64 { return int64(int32(uint32(r[addr])<<16 | uint32(r[addr+1]))) }
	get64 := func(addr int) int64 {
		return int64(uint64(r[addr])<<48 | uint64(r[addr+1])<<32 | uint64(r[addr+2])<<16 | uint64(r[addr+3]))
	}
	var s monitor.Sample
	for i := range 3 {
		s.Voltage[i] = get32(RegVoltage + 2*i)
		s.Current[i] = get32(RegCurrent + 2*i)
		s.VoltageTHD[i] = get32(RegVoltageTHD + 2*i)
		s.CurrentTHD[i] = get32(RegCurrentTHD + 2*i)
		s.Compensation[i] = get32(RegCompensation + 2*i)
	}
	s.PowerW, s.ReactiveVar, s.ApparentVA = get32(RegPower), get32(RegReactive), get32(RegApparent)
	s.PowerFactor, s.FrequencyMH = get32(RegPowerFactor), get32(RegFrequency)
	s.ImportWh, s.ExportWh = get64(RegImport), get64(RegExport)
	s.Filter = r[RegKind] == KindFilter
	return s
}
