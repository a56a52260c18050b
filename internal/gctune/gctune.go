// Package gctune gives Go's garbage collector a floor of headroom, so that a server with a small
// live heap does not collect many times a second.
//
// The collector lets the heap grow by GOGC % of the live heap (plus stacks and globals) before it
// runs again: 100 % by default. EVCS's live heap is small while it works hardest (about 8 MB
// with 100 stations under load, 20 MB with 1,000; the SQLite page cache is outside Go's heap),
// so a collection came every 70–150 ms, and the collector's background work alone took about 8 %
// of the server's CPU. A floor of headroom (say 64 MiB) makes those collections rarer for a few
// tens of MB of memory; once the live heap is larger than the floor (100,000 idle stations hold
// about 1 GB), the ratio rules as before, so memory per idle station does not grow. GOMEMLIMIT
// still bounds the heap as a whole.
//
// The tuner reads the live heap from runtime/metrics (as of the last collection) at an interval
// and sets the GOGC percentage that gives at least the floor. An explicit GOGC in the environment
// is the operator's choice and turns the tuner off.
package gctune

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// MaxPercent caps the percentage the tuner sets, for a live heap of a few MB.
const MaxPercent = 10000

// Percent is the GOGC percentage that lets a heap whose collector roots are live bytes (live
// heap, stacks and globals) grow by at least headroom bytes before the next collection, and by at
// least base % of live: max(base, ⌈headroom × 100 / live⌉), at most MaxPercent (never below base).
func Percent(live, headroom uint64, base int) int {
	if live == 0 || headroom == 0 {
		return base
	}
	p := (headroom*100 + live - 1) / live
	if p > MaxPercent {
		p = MaxPercent
	}
	return max(base, int(p))
}

// Tuner sets the GOGC percentage from the live heap (Step).
type Tuner struct {
	headroom uint64
	base     int
	set      int // the percentage in force, as this tuner set it (0: not yet)
	samples  []metrics.Sample
}

// New returns a tuner for a floor of headroom bytes over a base percentage (100, Go's default).
func New(headroom uint64, base int) *Tuner {
	return &Tuner{headroom: headroom, base: base, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}}
}

// Live is what the collector's ratio applies to, as of the last collection: live heap, stacks
// and globals, in bytes.
func (t *Tuner) Live() uint64 {
	metrics.Read(t.samples)
	var n uint64
	for _, s := range t.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			n += s.Value.Uint64()
		}
	}
	return n
}

// Step reads the live heap and sets the GOGC percentage for it when it differs from the one in
// force by more than a tenth (or none was set yet); it returns the percentage in force.
func (t *Tuner) Step() int {
	p := Percent(t.Live(), t.headroom, t.base)
	if t.set == 0 || math.Abs(float64(p-t.set)) > float64(t.set)/10 {
		debug.SetGCPercent(p)
		t.set = p
	}
	return t.set
}

// Run steps every interval until ctx ends, then puts the base percentage back.
func (t *Tuner) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	defer debug.SetGCPercent(t.base)
	for {
		t.Step()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Start runs a tuner for headroom bytes in the background until ctx ends, unless headroom is 0
// or GOGC is set in the environment (the operator chose); it says which it did.
func Start(ctx context.Context, headroom uint64) string {
	if headroom == 0 {
		return "off"
	}
	if v, ok := os.LookupEnv("GOGC"); ok {
		return "off (GOGC=" + v + " is set)"
	}
	go New(headroom, 100).Run(ctx, time.Second)
	return FormatSize(headroom) + " of headroom at least"
}

var units = []struct {
	suffix string
	shift  uint
}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// ParseSize reads a size as GOMEMLIMIT writes it: a whole number with B, KiB, MiB or GiB
// (e.g. 64MiB), or 0 / off for none.
func ParseSize(s string) (uint64, error) {
	if s == "0" || s == "off" {
		return 0, nil
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseUint(num, 10, 64)
			if err != nil || n > math.MaxUint64>>u.shift {
				break
			}
			return n << u.shift, nil
		}
	}
	return 0, fmt.Errorf("%q is not a size: write e.g. 64MiB (B, KiB, MiB or GiB), or off", s)
}

// FormatSize writes n in the largest unit that divides it.
func FormatSize(n uint64) string {
	for _, u := range units {
		if n>>u.shift<<u.shift == n && n>>u.shift > 0 {
			return strconv.FormatUint(n>>u.shift, 10) + u.suffix
		}
	}
	return "0B"
}
