package stubgen

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	declRE = regexp.MustCompile(`(?m)^---@(?:class|alias) (vbwd\.[A-Za-z0-9_.]+)`)
	// typeLineRE finds the type part of ---@param, ---@return and ---@field lines.
	typeLineRE = regexp.MustCompile(`(?m)^---@(?:param \S+|return|field \S+) ([^#\n]+)`)
	typeRefRE  = regexp.MustCompile(`vbwd\.[A-Za-z0-9_.]*[A-Za-z0-9_]`)
)

// Every vbwd.* type a stub names in a ---@param, ---@return or ---@field is
// declared by a ---@class or ---@alias in stdlib/types/: a type that does
// not exist makes LuaLS treat the value as unknown, silently.
func TestStubTypesDeclared(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(repoRoot, typesDir, "*.lua"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no stubs: %v", err)
	}
	declared := map[string]bool{}
	refs := map[string][]string{} // type -> files naming it
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range declRE.FindAllStringSubmatch(string(b), -1) {
			declared[m[1]] = true
		}
		for _, m := range typeLineRE.FindAllStringSubmatch(string(b), -1) {
			for _, ref := range typeRefRE.FindAllString(m[1], -1) {
				refs[ref] = append(refs[ref], filepath.Base(p))
			}
		}
	}
	var missing []string
	for ref, files := range refs {
		if !declared[ref] {
			missing = append(missing, ref+" (named in "+strings.Join(files, ", ")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("stub types named but never declared with ---@class or ---@alias:\n%s", strings.Join(missing, "\n"))
	}
	for _, want := range []string{"vbwd.db.row", "vbwd.db.error", "vbwd.db.tx"} {
		if len(refs[want]) == 0 {
			t.Errorf("%s is declared but no vbwd.db signature uses it", want)
		}
	}
}
