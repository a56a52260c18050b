package gctune

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name           string
		live, headroom uint64
		base, want     int
	}{
		{"small heap: the floor rules", 8 * mib, 64 * mib, 100, 800},
		{"rounds up to at least the floor", 3 * mib, 64 * mib, 100, 2134},
		{"large heap: the ratio rules", 1024 * mib, 64 * mib, 100, 100},
		{"at the floor", 64 * mib, 64 * mib, 100, 100},
		{"tiny heap: capped", 1024, 64 * mib, 100, MaxPercent},
		{"nothing read yet", 0, 64 * mib, 100, 100},
		{"no floor", 8 * mib, 0, 100, 100},
		{"another base", 8 * mib, 64 * mib, 1000, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.live, tc.headroom, tc.base); got != tc.want {
				t.Fatalf("Percent(%d, %d, %d) = %d, want %d", tc.live, tc.headroom, tc.base, got, tc.want)
			}
		})
	}
}

// gcPercent reads the percentage in force (SetGCPercent returns the old one).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestStepSetsTheCollectorsPercentage(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	runtime.GC() // the live heap as of now
	tu := New(1<<30, 100)
	live := tu.Live()
	if live == 0 {
		t.Fatal("runtime/metrics gave no live heap")
	}
	want := Percent(live, 1<<30, 100)
	if want <= 100 {
		t.Fatalf("a test binary's live heap (%d B) is over 1 GiB?", live)
	}
	if got := tu.Step(); got != want {
		t.Fatalf("Step = %d, want %d for %d live bytes", got, want, live)
	}
	if got := gcPercent(); got != want {
		t.Fatalf("GOGC in force = %d, want %d", got, want)
	}

	// A small change of the live heap leaves the percentage alone (no churn every tick).
	tu.set = want + want/20
	debug.SetGCPercent(tu.set)
	if got := tu.Step(); got != want+want/20 {
		t.Fatalf("Step after a 5 %% drift = %d, want the percentage kept (%d)", got, want+want/20)
	}
}

func TestRunPutsTheBaseBack(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run steps once, sees the end, and returns
	New(1<<30, 150).Run(ctx, 1<<40)
	if got := gcPercent(); got != 150 {
		t.Fatalf("GOGC after Run = %d, want the base 150", got)
	}
}

func TestStartOffWhenGOGCIsSet(t *testing.T) {
	t.Setenv("GOGC", "200")
	if got := Start(context.Background(), 64<<20); got != "off (GOGC=200 is set)" {
		t.Fatalf("Start = %q", got)
	}
	if got := Start(context.Background(), 0); got != "off" {
		t.Fatalf("Start with no headroom = %q", got)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"64MiB": 64 << 20, "1GiB": 1 << 30, "512KiB": 512 << 10, "100B": 100, "0": 0, "off": 0} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if want > 0 && FormatSize(got) != in {
			t.Errorf("FormatSize(%d) = %q, want %q", got, FormatSize(got), in)
		}
	}
	for _, in := range []string{"", "64", "64MB", "-1MiB", "1.5GiB", "MiB", "99999999999999999999GiB", "17179869184GiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) took it", in)
		}
	}
}
