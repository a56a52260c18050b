package modbus

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/monitor"
)

// Reader reads devices over Modbus TCP, keeping one connection per address (a gateway may
// serve several unit ids). It implements app.DeviceReader.
type Reader struct {
	Timeout time.Duration // per request; default 3 s

	mu    sync.Mutex
	conns map[string]*conn
}

type conn struct {
	mu sync.Mutex // one request at a time per connection
	c  *mb.ModbusClient
}

// NewReader returns a reader with no open connection.
func NewReader(timeout time.Duration) *Reader {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	return &Reader{Timeout: timeout, conns: map[string]*conn{}}
}

// Read reads one sample of d (its register block) at its Modbus address and unit.
func (r *Reader) Read(ctx context.Context, d asset.Device) (monitor.Sample, error) {
	if d.ModbusAddr == "" {
		return monitor.Sample{}, errs.E(errs.Invalid, "device %s has no Modbus address", d.ID)
	}
	if err := ctx.Err(); err != nil {
		return monitor.Sample{}, err
	}
	c, err := r.conn(d.ModbusAddr)
	if err != nil {
		return monitor.Sample{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	regs, err := c.read(uint8(d.ModbusUnit))
	if err != nil {
		// A broken connection is reopened on the next read.
		r.drop(d.ModbusAddr, c)
		return monitor.Sample{}, errs.E(errs.Unavailable, "modbus %s unit %d: %v", d.ModbusAddr, d.ModbusUnit, err)
	}
	return Decode(regs), nil
}

func (c *conn) read(unit uint8) ([]uint16, error) {
	if err := c.c.SetUnitId(unit); err != nil {
		return nil, err
	}
	regs, err := c.c.ReadRegisters(0, BlockSize, mb.HOLDING_REGISTER)
	if err != nil {
		return nil, err
	}
	if regs[RegVersion] != MapVersion {
		return nil, fmt.Errorf("register map version %d, want %d", regs[RegVersion], MapVersion)
	}
	return regs, nil
}

func (r *Reader) conn(addr string) (*conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.conns[addr]; ok {
		return c, nil
	}
	url := addr
	if !strings.Contains(url, "://") {
		url = "tcp://" + addr
	}
	client, err := mb.NewClient(&mb.ClientConfiguration{URL: url, Timeout: r.Timeout, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		return nil, errs.E(errs.Invalid, "modbus address %q: %v", addr, err)
	}
	if err := client.Open(); err != nil {
		return nil, errs.E(errs.Unavailable, "modbus %s: %v", addr, err)
	}
	c := &conn{c: client}
	r.conns[addr] = c
	return c, nil
}

func (r *Reader) drop(addr string, c *conn) {
	r.mu.Lock()
	if r.conns[addr] == c {
		delete(r.conns, addr)
	}
	r.mu.Unlock()
	_ = c.c.Close()
}

// Close closes every connection.
func (r *Reader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, c := range r.conns {
		_ = c.c.Close()
		delete(r.conns, addr)
	}
}
