package sim

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// Report sums up a Run.
//
//   - Connected: stations whose BootNotification was accepted at least once.
//   - Messages: CALLs sent by the stations that got a CALLRESULT (one round trip each).
//   - Errors: CALLs answered with a CALLERROR, timed out or lost with the connection, replies
//     that failed the schema, and failed connection attempts.
//   - Rate: Messages per second of wall time.
//   - P50, P90, P99: round-trip time of the answered CALLs.
//   - Peak: the most connections open at once (load runs; 0 otherwise).
type Report struct {
	Stations      int
	Connected     int
	Messages      int
	Errors        int
	Rate          float64
	P50, P90, P99 time.Duration
	Elapsed       time.Duration
	Peak          int
}

// String is the one-line summary `evcs sim` prints.
func (r Report) String() string {
	line := fmt.Sprintf("stations=%d messages=%d rate=%.1f/s p50=%s p90=%s p99=%s errors=%d connected=%d",
		r.Stations, r.Messages, r.Rate, fmtLatency(r.P50), fmtLatency(r.P90), fmtLatency(r.P99), r.Errors, r.Connected)
	if r.Peak > 0 {
		line += fmt.Sprintf(" peak_conns=%d", r.Peak)
	}
	return line
}

// fmtLatency rounds to a readable precision (1.2ms, 850µs) rather than nanoseconds.
func fmtLatency(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// Stats collects counters and a latency histogram shared by all stations of a run. The
// histogram is a fixed array of atomic counters, so recording allocates nothing and memory
// does not grow with the number of messages or stations.
type Stats struct {
	connected atomic.Int64
	messages  atomic.Int64
	errors    atomic.Int64
	open      atomic.Int64 // connections open now (load runs)
	peak      atomic.Int64
	hist      histogram

	limit   int64  // MaxMessages (0: none)
	onLimit func() // called once when messages reaches limit
}

func (s *Stats) ok(rtt time.Duration) {
	if s == nil {
		return
	}
	s.hist.record(rtt)
	if n := s.messages.Add(1); n == s.limit && s.onLimit != nil {
		s.onLimit()
	}
}

// opened and closed count the connections open at once.
func (s *Stats) opened() {
	n := s.open.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
}

func (s *Stats) closed() { s.open.Add(-1) }

func (s *Stats) fail() {
	if s != nil {
		s.errors.Add(1)
	}
}

// Report builds a Report from the counters; elapsed is the wall time used for the rate.
func (s *Stats) Report(stations int, elapsed time.Duration) Report {
	r := Report{
		Stations:  stations,
		Connected: int(s.connected.Load()),
		Messages:  int(s.messages.Load()),
		Errors:    int(s.errors.Load()),
		Elapsed:   elapsed,
		P50:       s.hist.quantile(0.50),
		P90:       s.hist.quantile(0.90),
		P99:       s.hist.quantile(0.99),
		Peak:      int(s.peak.Load()),
	}
	if elapsed > 0 {
		r.Rate = float64(r.Messages) / elapsed.Seconds()
	}
	return r
}

// histogram is log-linear: 16 sub-buckets per power of two of nanoseconds (≈6% resolution).
const subBits = 4

type histogram struct {
	buckets [64 << subBits]atomic.Uint64
}

func bucketOf(ns uint64) int {
	if ns < 1<<subBits {
		return int(ns)
	}
	e := bits.Len64(ns) - subBits - 1 // ns>>e is in [16, 32)
	return (e+1)<<subBits + int(ns>>e) - 1<<subBits
}

// bucketMid is the middle of the bucket's range, the value a quantile reports.
func bucketMid(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	e := i>>subBits - 1
	lo := uint64(i&(1<<subBits-1)+1<<subBits) << e
	return lo + (uint64(1)<<e)/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.buckets[bucketOf(uint64(d))].Add(1)
}

func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return 0
}
