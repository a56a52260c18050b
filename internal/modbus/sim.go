package modbus

import (
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync"

	mb "github.com/simonvetter/modbus"

	"github.com/evcs/evcs/internal/monitor"
)

// Sim is a simulated site meter or active filter: a Modbus TCP server answering the register
// map of this package with plausible, slowly varying values. Every read advances the
// simulation one step, so successive polls see the load move and the energy count up.
type Sim struct {
	Filter bool
	Unit   uint8 // 0: answer any unit id

	mu    sync.Mutex
	step  int64
	base  monitor.Sample
	fixed *monitor.Sample
	srv   *mb.ModbusServer
	addr  string
}

// NewSim returns a simulated meter (filter false) or active filter: 230 V, about 120 A per
// phase, PF 0.97, voltage THD 2–3 %, current THD 6–9 % (a filter: 2–3 %, compensating).
func NewSim(filter bool) *Sim {
	s := &Sim{Filter: filter}
	s.base = monitor.Sample{Voltage: [3]int64{230_400, 229_800, 231_100}, Current: [3]int64{120_000, 118_500, 121_700},
		PowerFactor: 970, FrequencyMH: 50_000, VoltageTHD: [3]int64{2_100, 2_600, 2_300}, CurrentTHD: [3]int64{6_200, 8_700, 7_100},
		ImportWh: 12_345_678, Filter: filter}
	if filter {
		s.base.CurrentTHD = [3]int64{2_400, 2_900, 2_600}
		s.base.Compensation = [3]int64{14_000, 16_500, 15_200}
	}
	return s
}

// Set makes every following read return exactly smp (tests use it to cross a limit).
func (s *Sim) Set(smp monitor.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	smp.Filter = s.Filter
	s.fixed = &smp
}

// Sample is what the next read returns, and advances the simulation.
func (s *Sim) Sample() monitor.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fixed != nil {
		return *s.fixed
	}
	s.step++
	// A triangle wave of ±5 % on the currents over 20 reads; voltages ±0.5 V.
	w := s.step%20 - 10
	if w < 0 {
		w = -w
	}
	smp := s.base
	var p int64
	for i := range 3 {
		smp.Current[i] = smp.Current[i] * (95 + w) / 100
		smp.Voltage[i] += (w - 5) * 100
		p += smp.Voltage[i] * smp.Current[i] / 1_000_000 // mV × mA → µW … / 1e6 = W
	}
	smp.ApparentVA = p
	smp.PowerW = p * smp.PowerFactor / 1000
	smp.ReactiveVar = isqrt(smp.ApparentVA*smp.ApparentVA - smp.PowerW*smp.PowerW)
	s.base.ImportWh += smp.PowerW / 3600 // as if read every second
	smp.ImportWh = s.base.ImportWh
	return smp
}

func isqrt(v int64) int64 {
	if v <= 0 {
		return 0
	}
	x := v
	y := (x + 1) / 2
	for y < x {
		x, y = y, (y+v/y)/2
	}
	return x
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until Stop.
func (s *Sim) Start(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("modbus sim: %w", err)
	}
	// The library does not report the port it bound, so a free one is found first; another
	// process taking it in between is retried.
	for attempt := 0; ; attempt++ {
		p := port
		if p == "0" || p == "" {
			if p, err = freePort(host); err != nil {
				return err
			}
		}
		a := net.JoinHostPort(host, p)
		srv, err := mb.NewServer(&mb.ServerConfiguration{URL: "tcp://" + a, MaxClients: 32, Logger: log.New(io.Discard, "", 0)}, s)
		if err != nil {
			return fmt.Errorf("modbus sim: %w", err)
		}
		if err = srv.Start(); err == nil {
			s.mu.Lock()
			s.srv, s.addr = srv, a
			s.mu.Unlock()
			return nil
		}
		if port != "0" && port != "" || attempt >= 4 {
			return fmt.Errorf("modbus sim: listen %s: %w", a, err)
		}
	}
}

func freePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("modbus sim: %w", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// Addr is the host:port served.
func (s *Sim) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop closes the listener and every client connection.
func (s *Sim) Stop() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Stop()
}

// HandleHoldingRegisters serves reads of the register map; writes are refused.
func (s *Sim) HandleHoldingRegisters(req *mb.HoldingRegistersRequest) ([]uint16, error) {
	if s.Unit != 0 && req.UnitId != s.Unit {
		return nil, mb.ErrGWTargetFailedToRespond
	}
	if req.IsWrite {
		return nil, mb.ErrIllegalFunction
	}
	if int(req.Addr)+int(req.Quantity) > BlockSize {
		return nil, mb.ErrIllegalDataAddress
	}
	return Encode(s.Sample())[req.Addr : req.Addr+req.Quantity], nil
}

// HandleInputRegisters serves the same map as input registers (function 0x04), for readers
// configured that way.
func (s *Sim) HandleInputRegisters(req *mb.InputRegistersRequest) ([]uint16, error) {
	return s.HandleHoldingRegisters(&mb.HoldingRegistersRequest{UnitId: req.UnitId, Addr: req.Addr, Quantity: req.Quantity})
}

// HandleCoils: the device has no coils.
func (s *Sim) HandleCoils(*mb.CoilsRequest) ([]bool, error) { return nil, mb.ErrIllegalFunction }

// HandleDiscreteInputs: the device has no discrete inputs.
func (s *Sim) HandleDiscreteInputs(*mb.DiscreteInputsRequest) ([]bool, error) {
	return nil, mb.ErrIllegalFunction
}
