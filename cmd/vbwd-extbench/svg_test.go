package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

// checkSVG parses an SVG document and checks that it is well-formed XML
// whose root declares the chart's viewBox, and that every coordinate of a
// drawn element (points, circles, lines, rectangles, text) lies within it.
func checkSVG(doc []byte) error {
	d := xml.NewDecoder(strings.NewReader(string(doc)))
	var w, h float64
	drawn := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not XML: %w", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]string{}
		for _, a := range el.Attr {
			attr[a.Name.Local] = a.Value
		}
		if el.Name.Local == "svg" {
			if _, err := fmt.Sscanf(attr["viewBox"], "0 0 %g %g", &w, &h); err != nil {
				return fmt.Errorf("viewBox %q: %v", attr["viewBox"], err)
			}
			continue
		}
		if w == 0 {
			return fmt.Errorf("<%s> outside an <svg> with a viewBox", el.Name.Local)
		}
		var xy [][2]string
		switch el.Name.Local {
		case "polyline":
			for _, p := range strings.Fields(attr["points"]) {
				x, y, _ := strings.Cut(p, ",")
				xy = append(xy, [2]string{x, y})
			}
		case "circle":
			xy = append(xy, [2]string{attr["cx"], attr["cy"]})
		case "line":
			xy = append(xy, [2]string{attr["x1"], attr["y1"]}, [2]string{attr["x2"], attr["y2"]})
		case "rect", "text":
			xy = append(xy, [2]string{attr["x"], attr["y"]})
		}
		for _, p := range xy {
			x, err1 := strconv.ParseFloat(p[0], 64)
			y, err2 := strconv.ParseFloat(p[1], 64)
			if err1 != nil || err2 != nil || math.IsNaN(x) || math.IsNaN(y) || x < 0 || y < 0 || x > w || y > h {
				return fmt.Errorf("<%s> at (%s, %s): outside the viewBox 0 0 %g %g", el.Name.Local, p[0], p[1], w, h)
			}
			drawn++
		}
	}
	if w == 0 {
		return errors.New("no <svg> root with a viewBox")
	}
	if drawn == 0 {
		return errors.New("nothing drawn")
	}
	return nil
}

// TestChartSVG renders charts of linear and decade-spanning data and checks
// the documents and where their points land.
func TestChartSVG(t *testing.T) {
	cases := []struct {
		name    string
		c       chart
		xLog    bool
		yLog    bool
		circles int
	}{
		{"linear", chart{title: "a & <b>", xLabel: "x", yLabel: "y", series: []series{
			line("one", []float64{1, 2, 3, 4}, []float64{10, 12, 11, 15}),
			line(`"two"`, []float64{1, 2, 3, 4}, []float64{9, 8, 7, 6})}}, false, false, 8},
		{"decades", chart{title: "log", xLabel: "clients", yLabel: "ms", series: []series{
			line("last", []float64{100, 1000, 10000}, []float64{2, 30, 900})}}, true, true, 3},
		{"pool sizes 1 to 64", chart{title: "pools", series: []series{
			line("c=32", []float64{1, 2, 4, 8, 16, 32, 64}, []float64{3, 4, 5, 6, 5, 4, 3})}}, true, false, 7},
		{"one point", chart{title: "single", series: []series{line("p", []float64{5}, []float64{5})}}, false, false, 1},
		{"zero and negative", chart{title: "signs", series: []series{line("p", []float64{0, 1, 2}, []float64{-3, 0, 1000})}}, false, false, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svg := tc.c.svg()
			if err := checkSVG([]byte(svg)); err != nil {
				t.Fatalf("%v\n%s", err, svg)
			}
			if got := strings.Count(svg, "<circle"); got != tc.circles {
				t.Errorf("%d points drawn, want %d", got, tc.circles)
			}
			if got := strings.Count(svg, "(log scale)"); got != b2i(tc.xLog)+b2i(tc.yLog) {
				t.Errorf("%d log axes, want x %v, y %v", got, tc.xLog, tc.yLog)
			}
		})
	}
	// a point off the chart is what checkSVG exists to catch
	if err := checkSVG([]byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="11" cy="1" r="1"/></svg>`)); err == nil {
		t.Error("checkSVG accepted a circle outside the viewBox")
	}
}

// TestChartPointsFollowValues: on both scales a larger value is drawn
// further right (x) and higher (smaller y).
func TestChartPointsFollowValues(t *testing.T) {
	for _, ys := range [][]float64{{1, 2, 3}, {1, 100, 10000}} {
		ax, ay := newAxis([]float64{10, 100, 1000}, false), newAxis(ys, true)
		for i := 1; i < 3; i++ {
			if ax.frac([]float64{10, 100, 1000}[i]) <= ax.frac([]float64{10, 100, 1000}[i-1]) || ay.frac(ys[i]) <= ay.frac(ys[i-1]) {
				t.Errorf("values %v: not increasing on the axis", ys)
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
