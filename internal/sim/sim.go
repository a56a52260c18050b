package sim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// Run starts cfg.Stations stations (one every cfg.Ramp), lets them run until cfg.Duration has
// passed, cfg.MaxMessages were answered or ctx ends, closes them and reports. It fails when the
// configuration is invalid or when no station could ever boot. With cfg.Load the stations are
// the load generator's lean ones (loadgen.go), else full Stations.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	var cancel context.CancelFunc
	if cfg.Duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	stats := &Stats{limit: cfg.MaxMessages, onLimit: cancel}
	if cfg.Load {
		return runLoad(ctx, cfg, stats)
	}
	start := time.Now()
	stations := make([]*Station, 0, cfg.Stations)
	var wg sync.WaitGroup
	for i := 0; i < cfg.Stations; i++ {
		if i > 0 && !sleepCtx(ctx, cfg.Ramp) {
			break
		}
		var seed int64
		if cfg.Seed != 0 {
			seed = cfg.Seed + int64(i)*7919
		}
		sc := cfg
		sc.Tag = cfg.TagOf(i)
		st := newStation(sc, cfg.StationID(i), stats, seed)
		stations = append(stations, st)
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.Run(ctx)
		}()
	}
	wg.Wait()
	rep := stats.Report(cfg.Stations, time.Since(start))
	if rep.Connected == 0 {
		var last error
		for _, st := range stations {
			st.mu.Lock()
			if st.lastErr != nil {
				last = st.lastErr
			}
			st.mu.Unlock()
		}
		if last == nil {
			last = ctx.Err()
		}
		return rep, fmt.Errorf("sim: no station could boot at %s: %v", cfg.URL, last)
	}
	return rep, nil
}

// runLoad runs the lean load stations, connecting them at one per cfg.Ramp (on a schedule, so
// a slow connect does not slow the ramp) from the source addresses in turn.
func runLoad(ctx context.Context, cfg Config, stats *Stats) (Report, error) {
	r := &loadRun{cfg: cfg, stats: stats}
	for _, a := range cfg.sourceAddrs() {
		r.dialers = append(r.dialers, &net.Dialer{LocalAddr: &net.TCPAddr{IP: a.AsSlice()}})
	}
	if len(r.dialers) == 0 {
		r.dialers = []*net.Dialer{{}}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < cfg.Stations; i++ {
		if d := time.Until(start.Add(time.Duration(i) * cfg.Ramp)); d > 0 && !sleepCtx(ctx, d) {
			break
		}
		var seed int64 = int64(i) + 1
		if cfg.Seed != 0 {
			seed = cfg.Seed + int64(i)*7919
		}
		st := newLoadStation(r, i, seed)
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.runLoad(ctx)
		}()
	}
	wg.Wait()
	rep := stats.Report(cfg.Stations, time.Since(start))
	if rep.Connected == 0 {
		return rep, fmt.Errorf("sim: no station could boot at %s", cfg.URL)
	}
	return rep, nil
}
