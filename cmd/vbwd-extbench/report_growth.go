package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The report's generated sections after the headline table: the memory
// criterion, the growth series (tables, with their charts written beside
// the report under benchmarks/), and the in-process benchmarks' figures.

// chartDir is where the charts go, relative to the report.
const chartDir = "benchmarks"

func growthSections(c config, grown []growthResult) (string, error) {
	if len(grown) == 0 {
		return "", nil
	}
	dir := filepath.Join(filepath.Dir(c.out), chartDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	written := map[string]bool{}
	var b strings.Builder
	for _, r := range grown { // the memory criterion first
		if r.key == "rss" {
			b.WriteString("\n## Memory\n\n")
			writeSeries(&b, r, "###")
		}
	}
	header := false
	for _, r := range grown {
		if r.key == "rss" {
			continue
		}
		if !header {
			fmt.Fprintf(&b, "\n## How cost grows\n\nEach series below starts `vbwd serve` (access log on) on a generated root and varies one dimension; "+
				"sizes of `BENCH_GROWTH=%s`. Charts use a log scale on an axis whose values span two decades or more.\n", c.growth)
			header = true
		}
		b.WriteString("\n")
		writeSeries(&b, r, "###")
		names := make([]string, 0, len(r.charts))
		for name := range r.charts {
			names = append(names, name)
		}
		sort.Strings(names)
		b.WriteString("\n")
		for _, name := range names {
			if r.err != nil {
				break // partial data: no chart
			}
			file := name + ".svg"
			if err := os.WriteFile(filepath.Join(dir, file), []byte(r.charts[name].svg()), 0o644); err != nil {
				return "", err
			}
			written[file] = true
			fmt.Fprintf(&b, "![%s](%s/%s)\n", r.charts[name].title, chartDir, file)
		}
	}
	return b.String(), removeStaleCharts(dir, written)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// removeStaleCharts deletes charts of an earlier run that this one did not
// write (a series dropped or renamed), so every file there is generated.
func removeStaleCharts(dir string, written map[string]bool) error {
	old, err := filepath.Glob(filepath.Join(dir, "*.svg"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if !written[filepath.Base(p)] {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeSeries(b *strings.Builder, r growthResult, level string) {
	fmt.Fprintf(b, "%s %s\n\n%s (This series took %s.)\n\n", level, r.title, r.method, r.took)
	if r.err != nil {
		fmt.Fprintf(b, "**This series failed:** %s\n\n", strings.ReplaceAll(firstLine(r.err.Error()), "|", `\|`))
	}
	b.WriteString("| " + strings.Join(r.columns, " | ") + " |\n|")
	for i := range r.columns {
		if i == 0 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, row := range r.rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
}

// figuresSection quotes the summaries `make bench` printed from the
// in-process benchmarks (go test -bench over engine/ and stdlib/db/, and
// cmd/vbwd-bench): the figures earlier issues asked for. Per-round lines
// and blank lines are left out.
func figuresSection(files []string) (string, error) {
	var lines []string
	for _, f := range files {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("figures: %w", err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "round ") || strings.HasPrefix(t, "==") {
				continue
			}
			lines = append(lines, "- "+strings.ReplaceAll(t, "|", `\|`))
		}
	}
	if len(lines) == 0 {
		return "", nil
	}
	return "\n## In-process benchmarks (the figures of earlier issues)\n\n" +
		"Printed by `make bench` before this program ran, from `go test -bench` over engine/ and stdlib/db/ " +
		"(its summary) and cmd/vbwd-bench (wrk against servers in one process), on the same machine in the same run:\n\n" +
		strings.Join(lines, "\n") + "\n", nil
}
