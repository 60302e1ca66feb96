package luatest

import (
	"context"
	_ "embed"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

//go:embed prelude.lua
var prelude string

// Run runs every dir/*_test.lua file with mods installed, each file as a
// subtest named after the file and each test(...) in it as a subtest of that.
// A file without tests fails: a test that cannot fail is a defect.
func Run(t *testing.T, dir string, mods ...hostapi.Module) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("luatest: no *_test.lua files in %s", dir)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			h := newHarness(mods)
			defer h.L.Close()
			h.t = t // print at the top level of the file
			tests, err := h.load(file)
			if err != nil {
				t.Fatal(err)
			}
			if len(tests) == 0 {
				t.Fatalf("%s declares no tests", file)
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					h.t = t
					if err := h.run(tc); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// NewState returns a state set up as for a test file (sandboxed libraries,
// require for mods, the assertion globals) for Go tests that run Lua
// snippets. It is closed when t ends. print goes to t.Log.
func NewState(t testing.TB, mods ...hostapi.Module) *lua.LState {
	t.Helper()
	h := newHarness(mods)
	h.t = t
	t.Cleanup(h.L.Close)
	if _, err := h.prelude(); err != nil {
		t.Fatal(err)
	}
	return h.L
}

// harness is one test file's state.
type harness struct {
	L *lua.LState
	t testing.TB // the running (sub)test, for print
}

type testCase struct {
	name string
	fn   *lua.LFunction
}

func newHarness(mods []hostapi.Module) *harness {
	h := &harness{L: lua.NewState(lua.Options{SkipOpenLibs: true})}
	L := h.L
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	// The base functions the engine's sandbox removes.
	for _, name := range []string{
		"dofile", "loadfile", "load", "loadstring", "module", "getfenv", "setfenv",
		"newproxy", "_printregs", "collectgarbage",
	} {
		L.SetGlobal(name, lua.LNil)
	}
	if str, ok := L.GetGlobal("string").(*lua.LTable); ok {
		str.RawSetString("dump", lua.LNil)
	}
	L.SetGlobal("require", L.NewFunction(requireFunc(mods, L.CreateTable(0, len(mods)))))
	L.SetGlobal("print", L.NewFunction(h.print))
	L.SetGlobal("build_phase", L.NewFunction(func(L *lua.LState) int {
		return withContext(L, 1, hostapi.WithBuildPhase)
	}))
	L.SetGlobal("with_timeout", L.NewFunction(func(L *lua.LState) int {
		d := time.Duration(float64(L.CheckNumber(1)) * float64(time.Second))
		cancel := context.CancelFunc(func() {})
		defer func() { cancel() }() // also when fn raises
		return withContext(L, 2, func(ctx context.Context) context.Context {
			ctx, cancel = context.WithTimeout(ctx, d)
			return ctx
		})
	}))
	L.SetGlobal("with_request", L.NewFunction(func(L *lua.LState) int {
		r := &hostapi.Request{ID: L.CheckString(1)}
		return withContext(L, 2, func(ctx context.Context) context.Context {
			return hostapi.WithRequest(ctx, r)
		})
	}))
	return h
}

// requireFunc resolves "vbwd.<name>" to the module of that name, calling its
// Loader once per state and caching the table in loaded.
func requireFunc(mods []hostapi.Module, loaded *lua.LTable) lua.LGFunction {
	return func(L *lua.LState) int {
		name := L.CheckString(1)
		if v := loaded.RawGetString(name); v != lua.LNil {
			L.Push(v)
			return 1
		}
		for _, m := range mods {
			if "vbwd."+m.Name() == name {
				L.Push(L.NewFunction(m.Loader))
				L.Call(0, 1)
				loaded.RawSetString(name, L.Get(-1))
				return 1
			}
		}
		L.ArgError(1, fmt.Sprintf("module %q not found", name))
		return 0
	}
}

// withContext calls the function at argument fn with L's context derived by
// wrap, restoring the context afterwards, also when fn raises.
func withContext(L *lua.LState, fn int, wrap func(context.Context) context.Context) int {
	f := L.CheckFunction(fn)
	old := L.Context()
	base := old
	if base == nil {
		base = context.Background()
	}
	L.SetContext(wrap(base))
	top := L.GetTop()
	L.Push(f)
	err := L.PCall(0, lua.MultRet, nil)
	if old == nil {
		L.RemoveContext()
	} else {
		L.SetContext(old)
	}
	if err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok {
			L.Error(apiErr.Object, 0)
		}
		L.RaiseError("%v", err)
	}
	return L.GetTop() - top
}

func (h *harness) print(L *lua.LState) int {
	parts := make([]string, L.GetTop())
	for i := range parts {
		parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
	}
	if h.t != nil {
		h.t.Log(L.Where(1) + " " + strings.Join(parts, "\t"))
	}
	return 0
}

// prelude defines the Lua globals and returns the list test() fills.
func (h *harness) prelude() (*lua.LTable, error) {
	fn, err := h.L.Load(strings.NewReader(prelude), "luatest/prelude.lua")
	if err != nil {
		return nil, fmt.Errorf("luatest prelude: %w", err)
	}
	h.L.Push(fn)
	if err := h.L.PCall(0, 1, nil); err != nil {
		return nil, fmt.Errorf("luatest prelude: %w", err)
	}
	list := h.L.Get(-1).(*lua.LTable)
	h.L.Pop(1)
	return list, nil
}

// load runs the prelude and the file, and returns the declared tests.
func (h *harness) load(file string) ([]testCase, error) {
	L := h.L
	list, err := h.prelude()
	if err != nil {
		return nil, err
	}
	fn, err := L.LoadFile(file)
	if err != nil {
		return nil, err
	}
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		return nil, err
	}
	tests := make([]testCase, 0, list.Len())
	seen := map[string]bool{}
	for i := 1; i <= list.Len(); i++ {
		tc := list.RawGetInt(i).(*lua.LTable)
		name := tc.RawGetString("name").String()
		if seen[name] {
			return nil, fmt.Errorf("%s: duplicate test name %q", file, name)
		}
		seen[name] = true
		tests = append(tests, testCase{name: name, fn: tc.RawGetString("fn").(*lua.LFunction)})
	}
	return tests, nil
}

// run calls one test function. Without a message handler, PCall attaches
// the Lua traceback to the error.
func (h *harness) run(tc testCase) error {
	h.L.Push(tc.fn)
	return h.L.PCall(0, 0, nil)
}

// CheckExports pins the API of m: the sorted names in its module table must
// equal want. If m is hostapi.Documented, its docs must name exactly the same
// entries, each with a signature starting with the name (followed by "(" for
// functions and ":" for other values) and a description.
func CheckExports(t *testing.T, m hostapi.Module, want ...string) {
	t.Helper()
	L := NewState(t, m)
	L.Push(L.NewFunction(m.Loader))
	L.Call(0, 1)
	tbl, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("module %s: loader returned %s, want a table", m.Name(), L.Get(-1).Type())
	}
	var got []string
	kinds := map[string]lua.LValueType{}
	tbl.ForEach(func(k, v lua.LValue) {
		got = append(got, k.String())
		kinds[k.String()] = v.Type()
	})
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("module %s exports\n  %s\nwant\n  %s", m.Name(), strings.Join(got, " "), strings.Join(want, " "))
	}
	d, ok := m.(hostapi.Documented)
	if !ok {
		return
	}
	documented := map[string]bool{}
	for _, e := range d.Docs() {
		kind, exported := kinds[e.Name]
		sep := ":"
		if kind == lua.LTFunction {
			sep = "("
		}
		switch {
		case documented[e.Name]:
			t.Errorf("module %s: %s documented twice", m.Name(), e.Name)
		case !exported:
			t.Errorf("module %s: %s documented but not exported", m.Name(), e.Name)
		case !strings.HasPrefix(e.Sig, e.Name+sep):
			t.Errorf("module %s: signature %q of %s should start with %q", m.Name(), e.Sig, e.Name, e.Name+sep)
		case e.Doc == "" || strings.Contains(e.Sig+e.Doc, "\n"):
			t.Errorf("module %s: %s needs a one-line signature and description", m.Name(), e.Name)
		}
		documented[e.Name] = true
	}
	for _, name := range got {
		if !documented[name] {
			t.Errorf("module %s: %s is exported but not documented", m.Name(), name)
		}
	}
}
