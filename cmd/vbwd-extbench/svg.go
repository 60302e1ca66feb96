package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A small SVG line chart writer for the "How cost grows" charts of the
// report: self-contained files (no script, no external font or style), so
// they render on GitHub and in any browser. An axis whose values span two
// decades or more is drawn on a log scale.

type point struct{ x, y float64 }

type series struct {
	name   string
	points []point
}

type chart struct {
	title, xLabel, yLabel string
	series                []series
}

const (
	svgW, svgH                     = 640, 380
	padL, padR, padT, padB         = 72, 24, 40, 56
	plotW, plotH                   = svgW - padL - padR, svgH - padT - padB
	tickLen                        = 5
	fontAttr                       = `font-family="sans-serif" font-size="12"`
	minLogSpan             float64 = 10 // max/min ratio from which an axis is logarithmic
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// axis maps data values to pixels along one dimension.
type axis struct {
	lo, hi float64 // data range (log10 of it when log)
	log    bool
}

func newAxis(vals []float64, fromZero bool) axis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if lo > 0 && hi/lo >= minLogSpan {
		return axis{lo: math.Floor(math.Log10(lo)), hi: math.Ceil(math.Log10(hi)), log: true}
	}
	if fromZero && lo > 0 {
		lo = 0
	}
	if hi == lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	return axis{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step}
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// frac is where v lies on the axis, 0..1.
func (a axis) frac(v float64) float64 {
	if a.log {
		v = math.Log10(math.Max(v, math.Pow(10, a.lo)))
	}
	if a.hi == a.lo {
		return 0
	}
	return math.Min(1, math.Max(0, (v-a.lo)/(a.hi-a.lo)))
}

// ticks returns the tick values: every decade on a log axis, else five or
// so round steps.
func (a axis) ticks() []float64 {
	var t []float64
	if a.log {
		steps := []float64{1}
		if a.hi-a.lo <= 2 { // few decades: 1, 2, 5 of each
			steps = []float64{1, 2, 5}
		}
		for e := a.lo; e <= a.hi+1e-9; e++ {
			for _, m := range steps {
				if v := m * math.Pow(10, e); math.Log10(v) <= a.hi+1e-9 {
					t = append(t, v)
				}
			}
		}
		return t
	}
	step := niceStep((a.hi - a.lo) / 5)
	for v := a.lo; v <= a.hi+step*1e-9; v += step {
		t = append(t, v)
	}
	return t
}

// label writes a tick value compactly: 1k, 2.5M, 0.5, 100.
func label(v float64) string {
	abs := math.Abs(v)
	switch {
	case abs >= 1e6:
		return trimFloat(v/1e6) + "M"
	case abs >= 1e3:
		return trimFloat(v/1e3) + "k"
	default:
		return trimFloat(v)
	}
}

func trimFloat(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// svg renders the chart.
func (c chart) svg() string {
	var xs, ys []float64
	for _, s := range c.series {
		for _, p := range s.points {
			xs, ys = append(xs, p.x), append(ys, p.y)
		}
	}
	ax, ay := newAxis(xs, false), newAxis(ys, true)
	px := func(v float64) float64 { return padL + ax.frac(v)*plotW }
	py := func(v float64) float64 { return padT + plotH - ay.frac(v)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="22" %s font-weight="bold" text-anchor="middle">%s</text>`+"\n", svgW/2, fontAttr, xmlEscape(c.title))
	for _, t := range ax.ticks() {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>`+"\n", x, padT, x, padT+plotH)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", x, padT+plotH, x, padT+plotH+tickLen)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`+"\n", x, padT+plotH+18, fontAttr, label(t))
	}
	for _, t := range ay.ticks() {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>`+"\n", padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>`+"\n", padL-tickLen, y, padL, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`+"\n", padL-8, y+4, fontAttr, label(t))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s%s</text>`+"\n", padL+plotW/2, svgH-14, fontAttr, xmlEscape(c.xLabel), logNote(ax))
	fmt.Fprintf(&b, `<text x="16" y="%d" %s text-anchor="middle" transform="rotate(-90 16 %d)">%s%s</text>`+"\n",
		padT+plotH/2, fontAttr, padT+plotH/2, xmlEscape(c.yLabel), logNote(ay))
	for i, s := range c.series {
		color := palette[i%len(palette)]
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.x), py(p.y)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		for _, p := range s.points {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p.x), py(p.y), color)
		}
	}
	writeLegend(&b, c.series)
	b.WriteString("</svg>\n")
	return b.String()
}

// writeLegend names the series in the plot's top-left corner, over a
// translucent box so a line passing under it stays visible.
func writeLegend(b *strings.Builder, ss []series) {
	w := 0
	for _, s := range ss {
		w = max(w, 7*len([]rune(s.name)))
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="white" fill-opacity="0.8"/>`+"\n", padL+4, padT+4, w+40, 16*len(ss)+4)
	for i, s := range ss {
		color := palette[i%len(palette)]
		ly := padT + 16 + 16*i
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", padL+10, ly-4, padL+30, ly-4, color)
		fmt.Fprintf(b, `<text x="%d" y="%d" %s>%s</text>`+"\n", padL+36, ly, fontAttr, xmlEscape(s.name))
	}
}

func logNote(a axis) string {
	if a.log {
		return " (log scale)"
	}
	return ""
}
