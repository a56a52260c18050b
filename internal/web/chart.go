package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/charging"
)

// chart is a session's meter chart: inline SVG drawn here from the stored readings, energy
// delivered (kWh, left axis) and power (kW, right axis) over time. No script, no style
// attribute: presentation attributes only, so the page's CSP allows it.
type chart struct {
	SVG    template.HTML
	Points int
}

type point struct {
	at time.Time
	v  int64 // Wh or W
}

const (
	chartW, chartH = 720, 260
	padL, padR     = 56, 56
	padT, padB     = 16, 36
)

// meterChart plots the whole-EVSE energy register (as energy since the session's start) and
// power readings. Per-phase readings and other locations are left out, as Session.Apply does.
func meterChart(s *charging.Session, rs []charging.Reading) chart {
	var energy, power []point
	for _, r := range rs {
		if r.Phase != "" || (r.Location != "" && r.Location != "Outlet") {
			continue
		}
		switch r.Measurand {
		case charging.EnergyImport:
			energy = append(energy, point{r.At, max(0, r.Milli/1000-s.MeterStart)})
		case charging.PowerImport:
			power = append(power, point{r.At, r.Milli / 1000})
		}
	}
	if len(energy)+len(power) == 0 {
		return chart{}
	}
	t0, t1 := s.StartedAt, s.StartedAt
	var maxE, maxP int64 = 1, 1
	for _, ps := range [][]point{energy, power} {
		for _, p := range ps {
			if p.at.Before(t0) {
				t0 = p.at
			}
			if p.at.After(t1) {
				t1 = p.at
			}
		}
	}
	for _, p := range energy {
		maxE = max(maxE, p.v)
	}
	for _, p := range power {
		maxP = max(maxP, p.v)
	}
	maxE, maxP = niceCeil(maxE), niceCeil(maxP)
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Second
	}
	x := func(t time.Time) float64 {
		return padL + float64(t.Sub(t0))/float64(span)*(chartW-padL-padR)
	}
	y := func(v, top int64) float64 { return chartH - padB - float64(v)/float64(top)*(chartH-padT-padB) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="Energy and power over time" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH, chartW, chartH)
	// grid and axes
	for i := 0; i <= 4; i++ {
		gy := padT + float64(i)*(chartH-padT-padB)/4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d9dee5" stroke-width="1"/>`, padL, gy, chartW-padR, gy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#1f6feb">%s</text>`, padL-6, gy+4, kwh(maxE*int64(4-i)/4))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" fill="#c2410c">%s</text>`, chartW-padR+6, gy+4, kw(maxP*int64(4-i)/4))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#1f6feb">kWh</text>`, 8, padT+4)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#c2410c">kW</text>`, chartW-26, padT+4)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#555">%s</text>`, padL, chartH-10, t0.UTC().Format("15:04:05Z"))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#555">%s</text>`, chartW-padR, chartH-10, t1.UTC().Format("15:04:05Z"))
	line := func(ps []point, top int64, color, class string) {
		if len(ps) == 0 {
			return
		}
		fmt.Fprintf(&b, `<polyline class="%s" fill="none" stroke="%s" stroke-width="2" points="`, class, color)
		for i, p := range ps {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", x(p.at), y(p.v, top))
		}
		b.WriteString(`"/>`)
		for _, p := range ps {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, x(p.at), y(p.v, top), color)
		}
	}
	line(energy, maxE, "#1f6feb", "energy")
	line(power, maxP, "#c2410c", "power")
	b.WriteString(`</svg>`)
	return chart{SVG: template.HTML(b.String()), Points: len(energy) + len(power)} //nolint:gosec // built here from numbers only
}

// niceCeil rounds a positive value up to 1, 2 or 5 times a power of ten, for axis labels.
func niceCeil(v int64) int64 {
	p := int64(1)
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
