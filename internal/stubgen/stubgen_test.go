package stubgen

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/yuin/gopher-lua/parse"

	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	vjson "github.com/vbwd-platform/vbwd-engine/stdlib/json"
)

var update = flag.Bool("update", false, "rewrite stdlib/types/vbwd.<module>.lua and docs/host-modules.md")

// repoRoot is the repository root, seen from this package's directory.
var repoRoot = filepath.Join("..", "..")

const typesDir = "stdlib/types"

// generated returns every generated file by repo-relative path.
func generated(t *testing.T, mods map[string]hostapi.Documented) map[string][]byte {
	t.Helper()
	stubs, err := Generate(mods)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"docs/host-modules.md": GenerateHostModulesDoc(mods)}
	for name, b := range stubs {
		files[typesDir+"/"+name] = b
	}
	return files
}

// staleStubs lists the generated stubs in stdlib/types/ that are not in want.
func staleStubs(t *testing.T, want map[string][]byte) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, typesDir, "*.lua"))
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for _, p := range paths {
		rel := typesDir + "/" + filepath.Base(p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := want[rel]; !ok && bytes.Contains(b, []byte(GeneratedMarker)) {
			stale = append(stale, rel)
		}
	}
	return stale
}

// outOfDate describes every committed file that differs from want.
func outOfDate(t *testing.T, want map[string][]byte) []string {
	t.Helper()
	var problems []string
	for rel, w := range want {
		got, err := os.ReadFile(filepath.Join(repoRoot, rel))
		switch {
		case os.IsNotExist(err):
			problems = append(problems, rel+" is missing")
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(got, w):
			problems = append(problems, fmt.Sprintf("%s is out of date (- committed, + generated):\n%s", rel, lineDiff(string(got), string(w))))
		}
	}
	for _, rel := range staleStubs(t, want) {
		problems = append(problems, rel+" is generated but no host module has that name any more")
	}
	sort.Strings(problems)
	return problems
}

func TestStubsUpToDate(t *testing.T) {
	want := generated(t, HostModules())
	if *update {
		for rel, b := range want {
			if err := os.WriteFile(filepath.Join(repoRoot, rel), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, rel := range staleStubs(t, want) {
			if err := os.Remove(filepath.Join(repoRoot, rel)); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for _, p := range outOfDate(t, want) {
		t.Error(p)
	}
	if t.Failed() {
		t.Error("run: go test ./internal/stubgen -update")
	}
}

// withExtra is a module that documents one more export than its base.
type withExtra struct {
	hostapi.Documented
	extra hostapi.Export
}

func (m withExtra) Docs() []hostapi.Export { return append(m.Documented.Docs(), m.extra) }

func TestStubsUpToDate_DetectsANewExport(t *testing.T) {
	mods := HostModules()
	mods["json"] = withExtra{vjson.New(), hostapi.Export{Name: "parse_lines", Sig: "parse_lines(s: string): table[]", Doc: "decode one JSON value per line"}}
	problems := strings.Join(outOfDate(t, generated(t, mods)), "\n")
	for _, want := range []string{
		"stdlib/types/vbwd.json.lua is out of date",
		"+ ", "---@param s string", "function json.parse_lines(s) end",
		"docs/host-modules.md is out of date", "json.parse_lines(s: string): table[]",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("the golden comparison does not report %q:\n%s", want, problems)
		}
	}
}

// The stubs list every module the engine offers to plugins.
func TestHostModules_MatchEngine(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Root: root, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p := hostapi.Plugin{Name: "x", Logger: slog.New(slog.DiscardHandler)}
	var engineMods []string
	for _, f := range e.DefaultModules() {
		m := f(p)
		if _, ok := m.(hostapi.Documented); !ok {
			t.Errorf("host module %s has no Docs (hostapi.Documented)", m.Name())
		}
		engineMods = append(engineMods, m.Name())
	}
	var stubMods []string
	for n := range HostModules() {
		if n != "test" { // vbwd.test exists only inside `vbwd test`
			stubMods = append(stubMods, n)
		}
	}
	sort.Strings(engineMods)
	sort.Strings(stubMods)
	if strings.Join(engineMods, " ") != strings.Join(stubMods, " ") {
		t.Errorf("engine modules %v, stubgen.HostModules %v: add the missing line to HostModules", engineMods, stubMods)
	}
}

// Every file in stdlib/types/, generated or hand-written, is valid Lua.
func TestStubsParse(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(repoRoot, typesDir, "*.lua"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no stubs: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parse.Parse(bytes.NewReader(b), filepath.Base(p)); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
		if !bytes.HasPrefix(b, []byte("---@meta")) {
			t.Errorf("%s does not start with ---@meta", filepath.Base(p))
		}
	}
}

type fakeModule struct {
	name string
	docs []hostapi.Export
	hostapi.Documented
}

func (f fakeModule) Name() string           { return f.name }
func (f fakeModule) Docs() []hostapi.Export { return f.docs }

func TestGenerate_Errors(t *testing.T) {
	ok := hostapi.Export{Name: "f", Sig: "f(a: string): string", Doc: "f"}
	for _, tc := range []struct {
		name string
		key  string
		docs []hostapi.Export
		want string
	}{
		{"key differs from Name", "other", []hostapi.Export{ok}, `module "m" is listed under "other"`},
		{"bad signature", "m", []hostapi.Export{{Name: "f", Sig: "f(a: string", Doc: "x"}}, "unbalanced brackets"},
		{"signature of another name", "m", []hostapi.Export{{Name: "g", Sig: "f(): string", Doc: "x"}}, "export g has the signature of f"},
		{"documented twice", "m", []hostapi.Export{ok, ok}, "export f is documented twice"},
		{"no description", "m", []hostapi.Export{{Name: "f", Sig: "f()", Doc: " "}}, "needs a one-line Doc"},
		{"two-line description", "m", []hostapi.Export{{Name: "f", Sig: "f()", Doc: "a\nb"}}, "needs a one-line Doc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(map[string]hostapi.Documented{tc.key: fakeModule{name: "m", docs: tc.docs}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func Example() {
	mods := map[string]hostapi.Documented{"kv": fakeModule{name: "kv", docs: []hostapi.Export{
		{Name: "get", Sig: "get(key: string, default?: any): any, string?", Doc: "the value under key, or nil and an error"},
		{Name: "each", Sig: "each(fn: fun(k: string, v: any), ...: string)", Doc: "call fn for the given keys"},
		{Name: "all", Sig: "all(): ...table", Doc: "every entry"},
		{Name: "none", Sig: "none: userdata", Doc: "the absent sentinel"},
	}}}
	stubs, _ := Generate(mods)
	fmt.Print(string(stubs["vbwd.kv.lua"]))
	// Output:
	// ---@meta vbwd.kv
	// -- Code generated by internal/stubgen from the Docs of the vbwd.kv host module. DO NOT EDIT.
	// -- Regenerate with: go test ./internal/stubgen -update
	//
	// ---The vbwd.kv host module: `local kv = require("vbwd.kv")`.
	// ---@class vbwd.kv
	// ---@field none userdata # the absent sentinel
	// local kv = {}
	//
	// ---the value under key, or nil and an error
	// ---@param key string
	// ---@param default? any
	// ---@return any
	// ---@return string? err
	// function kv.get(key, default) end
	//
	// ---call fn for the given keys
	// ---@param fn fun(k: string, v: any)
	// ---@param ... string
	// function kv.each(fn, ...) end
	//
	// ---every entry
	// ---@return table ...
	// function kv.all() end
	//
	// return kv
}
