package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"time"
)

// Palette holds the series colours, in order: the Okabe-Ito palette, which
// people with the common colour-vision deficiencies can tell apart.
var Palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

// Chart geometry, in SVG user units (the SVG scales to its container).
const (
	svgW       = 480
	svgH       = 290
	marginL    = 62
	marginR    = 24
	marginT    = 12
	marginB    = 56
	barMarginL = 160
	fontSize   = 15
)

// RenderSVG draws c as an inline SVG element: role="img" with <title> and
// <desc> (the chart's Title and Desc), labelled axes with ticks, one
// element of class "pt" per data point with its note as a tooltip
// (<title>), and, for an empty chart, its Empty message. Series colours
// follow Palette; the legend is left to the page (see Page).
func RenderSVG(c *Chart) string {
	var b strings.Builder
	id := html.EscapeString(c.ID)
	h := svgH
	if c.Kind == "bar" {
		h = max(svgH, marginT+marginB+len(c.Categories)*max(len(c.Series), 1)*10+len(c.Categories)*8)
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" font-size="%d">`,
		svgW, h, id, id, fontSize)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, html.EscapeString(c.Title), id, html.EscapeString(c.Desc))
	if c.Kind == "bar" {
		renderBars(&b, c, h)
	} else {
		renderLines(&b, c)
	}
	if c.Empty != "" {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="empty">%s</text>`, svgW/2, h/2, html.EscapeString(shorten(c.Empty, 70)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// scale maps a data interval onto a pixel interval.
type scale struct{ d0, d1, p0, p1 float64 }

func (s scale) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.p0 + s.p1) / 2
	}
	return s.p0 + (v-s.d0)/(s.d1-s.d0)*(s.p1-s.p0)
}

// bounds returns the axis range: fixed, or the data's with some room.
func bounds(a Axis, vals []float64) (lo, hi float64) {
	if a.Fixed && a.Max > a.Min {
		return a.Min, a.Max
	}
	if len(vals) == 0 {
		if a.Time {
			now := float64(time.Now().Unix())
			return now - 86400, now
		}
		return 0, 1
	}
	lo, hi = vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	if a.Fixed {
		lo = min(lo, a.Min)
	}
	switch {
	case hi == lo && a.Time:
		lo, hi = lo-43200, hi+43200
	case hi == lo:
		lo, hi = lo-0.05*math.Max(math.Abs(lo), 1), hi+0.05*math.Max(math.Abs(hi), 1)
	case !a.Time:
		pad := (hi - lo) * 0.08
		lo, hi = lo-pad, hi+pad
	}
	if a.Percent {
		lo, hi = max(lo, 0), min(hi, 1)
	}
	return lo, hi
}

// ticks returns about n round values within [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

// timeTicks returns about n tick positions (Unix seconds) and their labels.
func timeTicks(lo, hi float64, n int) ([]float64, []string) {
	span := hi - lo
	layout := "Jan 2"
	if span < 2*86400 {
		layout = "Jan 2 15:04"
		n = min(n, 3) // longer labels
	} else if span > 400*86400 {
		layout = "Jan 2006"
	}
	var pos []float64
	var labels []string
	for i := range n {
		v := lo + span*float64(i)/float64(n-1)
		pos = append(pos, v)
		labels = append(labels, time.Unix(int64(v), 0).UTC().Format(layout))
	}
	return pos, labels
}

func fmtValue(a Axis, v float64) string {
	switch {
	case a.Percent:
		return strconv.FormatFloat(100*v, 'f', -1, 64) + "%"
	case math.Abs(v) >= 10000:
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

func renderLines(b *strings.Builder, c *Chart) {
	var xs, ys []float64
	for _, s := range c.Series {
		for _, p := range s.Points {
			xs, ys = append(xs, p.X), append(ys, p.Y)
		}
	}
	x0, x1 := bounds(c.X, xs)
	y0, y1 := bounds(c.Y, ys)
	sx := scale{x0, x1, marginL, svgW - marginR}
	sy := scale{y0, y1, svgH - marginB, marginT}
	// Grid and Y ticks.
	b.WriteString(`<g class="axis">`)
	for _, v := range ticks(y0, y1, 5) {
		y := sy.at(v)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, marginL, svgW-marginR, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, marginL-6, y, fmtValue(c.Y, round(v)))
	}
	var xt []float64
	var xl []string
	if c.X.Time {
		xt, xl = timeTicks(x0, x1, 4)
	} else {
		for _, v := range ticks(x0, x1, 5) {
			xt, xl = append(xt, v), append(xl, fmtValue(c.X, round(v)))
		}
	}
	for i, v := range xt {
		x := sx.at(v)
		anchor := "middle"
		if i == 0 && c.X.Time {
			anchor = "start"
		} else if i == len(xt)-1 && c.X.Time {
			anchor = "end"
		}
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="tick"/>`, x, x, svgH-marginB, svgH-marginB+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, svgH-marginB+20, anchor, html.EscapeString(xl[i]))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="frame"/>`, marginL, svgW-marginR, svgH-marginB, svgH-marginB)
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="frame"/>`, marginL, marginL, marginT, svgH-marginB)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" class="label">%s</text>`, (marginL+svgW-marginR)/2, svgH-6, html.EscapeString(c.X.Label))
	fmt.Fprintf(b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle" class="label">%s</text>`, (marginT+svgH-marginB)/2, html.EscapeString(c.Y.Label))
	b.WriteString(`</g>`)
	if c.Diagonal {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="diagonal"><title>perfect calibration</title></line>`,
			sx.at(max(x0, y0)), sy.at(max(x0, y0)), sx.at(min(x1, y1)), sy.at(min(x1, y1)))
	}
	for i, s := range c.Series {
		col := Palette[i%len(Palette)]
		fmt.Fprintf(b, `<g class="series" data-series="%s" stroke="%s" fill="%s">`, html.EscapeString(s.Name), col, col)
		if s.Line && len(s.Points) > 1 {
			b.WriteString(`<polyline fill="none" stroke-width="2" points="`)
			for j, p := range s.Points {
				if j > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(b, "%.1f,%.1f", sx.at(p.X), sy.at(p.Y))
			}
			b.WriteString(`"/>`)
		}
		for _, p := range s.Points {
			marker(b, p, sx.at(p.X), sy.at(p.Y))
		}
		b.WriteString(`</g>`)
	}
}

// marker draws one point: a dot, or the outcome's shape.
func marker(b *strings.Builder, p Point, x, y float64) {
	note := ""
	if p.Note != "" {
		note = "<title>" + html.EscapeString(p.Note) + "</title>"
	}
	switch p.Marker {
	case "rejected":
		fmt.Fprintf(b, `<path class="pt rejected" d="M%.1f %.1fl8 8m0 -8l-8 8" stroke-width="2.5" fill="none">%s</path>`, x-4, y-4, note)
	case "rolled_back":
		fmt.Fprintf(b, `<path class="pt rolled_back" d="M%.1f %.1fl5 9h-10z" stroke="#fff" stroke-width="1">%s</path>`, x, y-5, note)
	case "deployed":
		fmt.Fprintf(b, `<circle class="pt deployed" cx="%.1f" cy="%.1f" r="4.5" stroke="#fff" stroke-width="1">%s</circle>`, x, y, note)
	default:
		fmt.Fprintf(b, `<circle class="pt" cx="%.1f" cy="%.1f" r="3">%s</circle>`, x, y, note)
	}
}

func renderBars(b *strings.Builder, c *Chart, h int) {
	sx := scale{c.Y.Min, c.Y.Max, barMarginL, svgW - marginR}
	if !c.Y.Fixed || c.Y.Max <= c.Y.Min {
		sx = scale{0, 1, barMarginL, svgW - marginR}
	}
	n := max(len(c.Categories), 1)
	band := float64(h-marginT-marginB) / float64(n)
	b.WriteString(`<g class="axis">`)
	for _, v := range ticks(sx.d0, sx.d1, 4) {
		x := sx.at(v)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/>`, x, x, marginT, h-marginB)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, h-marginB+18, fmtValue(c.Y, round(v)))
	}
	for i, cat := range c.Categories {
		y := float64(marginT) + band*(float64(i)+0.5)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s<title>%s</title></text>`,
			barMarginL-6, y, html.EscapeString(shorten(cat, 18)), html.EscapeString(cat))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="frame"/>`, barMarginL, barMarginL, marginT, h-marginB)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" class="label">%s</text>`, (barMarginL+svgW-marginR)/2, h-8, html.EscapeString(c.Y.Label))
	b.WriteString(`</g>`)
	ns := max(len(c.Series), 1)
	bar := band * 0.8 / float64(ns)
	for i, s := range c.Series {
		col := Palette[i%len(Palette)]
		fmt.Fprintf(b, `<g class="series" data-series="%s" fill="%s">`, html.EscapeString(s.Name), col)
		for _, p := range s.Points {
			y := float64(marginT) + band*p.X + band*0.1 + bar*float64(i)
			w := max(sx.at(p.Y)-sx.at(sx.d0), 1)
			fmt.Fprintf(b, `<rect class="pt" x="%d" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`, barMarginL, y, w, max(bar-1, 1), html.EscapeString(p.Note))
		}
		b.WriteString(`</g>`)
	}
}

// round drops floating-point noise from tick values.
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
