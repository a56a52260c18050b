// Package benchtest holds what the answer-time benchmarks over a seeded store share (the
// reports, the query API and the console pages): one request timed per iteration after a
// warm-up, reported as p50 and p95.
package benchtest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Latency runs one untimed call of req to warm caches, then one per b.Loop iteration, and
// reports the p50 and p95 of the durations req returns in milliseconds (p50-ms, p95-ms) and the
// size of its last answer (bytes).
func Latency(b *testing.B, req func() (size int, d time.Duration)) {
	size, _ := req()
	var ds []time.Duration
	for b.Loop() {
		n, d := req()
		size = n
		ds = append(ds, d)
	}
	b.ReportMetric(float64(size), "bytes")
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(ms(ds[len(ds)/2]), "p50-ms")
	b.ReportMetric(ms(ds[(len(ds)*95+99)/100-1]), "p95-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Name makes a probe's name a sub-benchmark name of one level: no spaces or slashes.
func Name(probe string) string { return name.Replace(probe) }

var name = strings.NewReplacer(" ", "_", "/", "-")
