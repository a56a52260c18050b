package sim

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Run starts cfg.Stations stations (one every cfg.Ramp), lets them run until cfg.Duration has
// passed or ctx ends, closes them and reports. It fails when the configuration is invalid or
// when no station could ever boot.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	stats := &Stats{}
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
		st := newStation(cfg, cfg.StationID(i), stats, seed)
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
