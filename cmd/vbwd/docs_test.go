package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docDirective is the comment that must precede every code block of the
// reference docs: "excerpt <file>" (every line of the block appears, in
// order, in that file of a tested example; "..." stands for any text) or
// "skip (<why>)".
var docDirective = regexp.MustCompile(`^<!-- doc-test: (excerpt (\S+)|skip \(.+\)) -->$`)

var spaces = regexp.MustCompile(`\s+`)

func normLine(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// TestDocExamples: every code block of the plugin guide and the ops guide is
// an excerpt of a file the tests run (or says why it is not), and the
// guide's example plugins pass their own tests.
func TestDocExamples(t *testing.T) {
	repo := filepath.Join("..", "..")
	for _, doc := range []string{"docs/plugin-guide.md", "docs/ops.md", "docs/architecture.md"} {
		b, err := os.ReadFile(filepath.Join(repo, doc))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			if !strings.HasPrefix(lines[i], "```") {
				continue
			}
			start := i
			var body []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				body = append(body, lines[i])
			}
			var m []string
			if start > 0 {
				m = docDirective.FindStringSubmatch(lines[start-1])
			}
			if m == nil {
				t.Errorf("%s:%d: a code block without a <!-- doc-test: excerpt FILE --> or <!-- doc-test: skip (why) --> line before it", doc, start+1)
				continue
			}
			if m[2] != "" {
				checkExcerpt(t, repo, doc, start+1, m[2], body)
			}
		}
	}
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	out, err := runCLI(t, context.Background(), "test", "--root", filepath.Join(repo, "docs", "examples"))
	if err != nil || !strings.Contains(out, " 0 failed") {
		t.Errorf("the guide's example plugins: %v\n%s", err, out)
	}
}

// checkExcerpt finds the block's non-blank lines, in order, in file.
func checkExcerpt(t *testing.T, repo, doc string, line int, file string, block []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, file))
	if err != nil {
		t.Errorf("%s:%d: %v", doc, line, err)
		return
	}
	src := strings.Split(string(b), "\n")
	pos := 0
	for _, want := range block {
		want = normLine(want)
		if want == "" {
			continue
		}
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(want), `\.\.\.`, ".*") + "$")
		for ; pos < len(src) && !re.MatchString(normLine(src[pos])); pos++ {
		}
		if pos == len(src) {
			t.Errorf("%s:%d: the example line %q is not in %s (in this order): keep the guide and the example in step", doc, line, want, file)
			return
		}
		pos++
	}
}
