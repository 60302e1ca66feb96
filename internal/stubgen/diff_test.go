package stubgen

import (
	"fmt"
	"strings"
)

// lineDiff describes how got differs from want, line by line, with two lines
// of context around each change ("-" only in want, "+" only in got).
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the length of the longest common subsequence of a[i:], b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, diffOp{' ', i + 1, a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', i + 1, a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', j + 1, b[j]})
			j++
		}
	}
	const context = 2
	var out strings.Builder
	last := -1
	for k, o := range ops {
		if o.kind == ' ' && !nearChange(ops, k, context) {
			continue
		}
		if last >= 0 && k > last+1 {
			out.WriteString("  ...\n")
		}
		fmt.Fprintf(&out, "%c %4d | %s\n", o.kind, o.line, o.text)
		last = k
	}
	return out.String()
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	line int  // 1-based line in want (for ' ' and '-') or got ('+')
	text string
}

// nearChange reports whether an added or removed line is within n ops of k.
func nearChange(ops []diffOp, k, n int) bool {
	for d := -n; d <= n; d++ {
		if k+d >= 0 && k+d < len(ops) && ops[k+d].kind != ' ' {
			return true
		}
	}
	return false
}
