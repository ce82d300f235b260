package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 760, 440
	padL, padR     = 60, 190
	padT, padB     = 50, 50
)

// series is one line of the chart.
type series struct {
	name  string
	color string
	value func(m Month) Num
}

// chartSeries are the lines drawn: per month, the test accuracy of the model
// in service after the month's run, the month's fallback rate and the
// month's ML-route precision.
var chartSeries = []series{
	{"test accuracy", "#1f77b4", func(m Month) Num { return m.Accuracy }},
	{"fallback rate", "#d62728", func(m Month) Num { return m.FallbackRate }},
	{"ML-route precision", "#2ca02c", func(m Month) Num { return m.MLPrecision }},
}

// diamond is the path of a hollow diamond mark centred on (x, y).
func diamond(x, y float64) string {
	return fmt.Sprintf("M%.1f %.1f l7 7 l-7 7 l-7 -7 z", x, y-7)
}

// writeSVG draws the summary as a self-contained SVG line chart (no
// dependencies): months on x, percentages on y, one line per chartSeries,
// the reference model's accuracy as a dashed line, the fallback targets
// (12 % by month 6, 6 % by month 12) as diamonds and the 94 % ML-precision
// target (from month 2 on) as a dotted line. A month without data for a
// series (month 0 has no traffic) breaks its line.
func writeSVG(w io.Writer, s *Summary) error {
	var b strings.Builder
	last := 1
	if n := len(s.Months); n > 0 {
		last = max(1, s.Months[n-1].Month)
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	x := func(month int) float64 { return padL + plotW*float64(month)/float64(last) }
	y := func(v float64) float64 { return padT + plotH*(1-v) }

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	routing := fmt.Sprintf("each model's own threshold for precision %.2f", s.TargetPrecision)
	if s.Threshold > 0 {
		routing = fmt.Sprintf("threshold %.2f fixed", s.Threshold)
	}
	title := fmt.Sprintf("moodfood simulation: %s, LLM noise %.0f%%, feedback %.0f%%", routing, 100*s.Noise, 100*s.FeedbackRate)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", padL, html.EscapeString(title))

	// Grid and axes.
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x(0), y(v), x(last), y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%d%%</text>`+"\n", x(0)-6, y(v)+4, i*10)
	}
	step := max(1, last/12)
	for m := 0; m <= last; m += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x(m), y(0), x(m), y(1))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x(m), y(0)+18, m)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">month</text>`+"\n", x(0)+plotW/2, chartH-8)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", x(0), y(1), plotW, plotH)

	// Reference accuracy and fallback targets.
	if r := s.Reference; r != nil && !math.IsNaN(float64(r.Accuracy)) {
		ry := y(float64(r.Accuracy))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1f77b4" stroke-dasharray="6 4" stroke-width="1.5"/>`+"\n", x(0), ry, x(last), ry)
	}
	for _, t := range []struct {
		month int
		v     float64
	}{{6, 0.12}, {12, 0.06}} {
		if t.month <= last {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#7f0000" stroke-width="1.5"><title>fallback target: at most %.0f%% by month %d</title></path>`+"\n",
				diamond(x(t.month), y(t.v)), 100*t.v, t.month)
		}
	}
	if last >= 2 { // ML-route precision promise from month 2 on
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#2ca02c" stroke-dasharray="2 3" stroke-width="1.5"/>`+"\n",
			x(2), y(0.94), x(last), y(0.94))
	}

	// Lines.
	for _, sr := range chartSeries {
		var path strings.Builder
		pen := false
		for _, m := range s.Months {
			v := float64(sr.value(m))
			if math.IsNaN(v) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(m.Month), y(v))
			pen = true
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", strings.TrimSpace(path.String()), sr.color)
		for _, m := range s.Months {
			if v := float64(sr.value(m)); !math.IsNaN(v) {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>month %d %s %.1f%%</title></circle>`+"\n",
					x(m.Month), y(v), sr.color, m.Month, html.EscapeString(sr.name), 100*v)
			}
		}
	}

	// Legend.
	lx, ly := float64(chartW-padR+20), float64(padT+10)
	items := len(chartSeries)
	for i, sr := range chartSeries {
		yy := ly + float64(i)*22
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.5"/>`+"\n", lx, yy, lx+24, yy, sr.color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+30, yy+4, html.EscapeString(sr.name))
	}
	if s.Reference != nil {
		yy := ly + float64(items)*22
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1f77b4" stroke-dasharray="6 4" stroke-width="1.5"/>`+"\n", lx, yy, lx+24, yy)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">reference accuracy</text>`+"\n", lx+30, yy+4)
		items++
	}
	yy := ly + float64(items)*22
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#7f0000" stroke-width="1.5"/>`+"\n", diamond(lx+12, yy))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">fallback targets</text>`+"\n", lx+30, yy+4)
	yy += 22
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#2ca02c" stroke-dasharray="2 3" stroke-width="1.5"/>`+"\n", lx, yy, lx+24, yy)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">94%% precision target</text>`+"\n", lx+30, yy+4)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
