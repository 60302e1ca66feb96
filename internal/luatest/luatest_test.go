package luatest

import (
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
)

// probe is a module exposing what the harness sets up.
type probe struct{ loads int }

func (p *probe) Name() string { return "probe" }

func (p *probe) Loader(L *lua.LState) int {
	p.loads++
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"loads": func(L *lua.LState) int { L.Push(lua.LNumber(p.loads)); return 1 },
		"request_id": func(L *lua.LState) int {
			if r := hostapi.RequestOf(L); r != nil {
				L.Push(lua.LString(r.ID))
				return 1
			}
			L.Push(lua.LNil)
			return 1
		},
		"build_phase": func(L *lua.LState) int { L.Push(lua.LBool(hostapi.InBuildPhase(L))); return 1 },
		"deadline": func(L *lua.LState) int {
			if ctx := L.Context(); ctx != nil {
				if dl, ok := ctx.Deadline(); ok {
					L.Push(lua.LNumber(time.Until(dl).Seconds()))
					return 1
				}
			}
			L.Push(lua.LNil)
			return 1
		},
	}))
	L.Push(lua.LString("extra")) // returning 1 must take only the table
	L.Pop(1)
	return 1
}

func (p *probe) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "loads", Sig: "loads(): integer", Doc: "how many times the loader ran"},
		{Name: "request_id", Sig: "request_id(): string?", Doc: "the request id, if any"},
		{Name: "build_phase", Sig: "build_phase(): boolean", Doc: "whether the state is in its build phase"},
		{Name: "deadline", Sig: "deadline(): number?", Doc: "seconds until the state's context deadline, if any"},
	}
}

func TestRun(t *testing.T) {
	Run(t, "testdata", &probe{})
}

// Failing assertions fail, with the file and line of the failing check.
func TestHarness_failures(t *testing.T) {
	h := newHarness(nil)
	defer h.L.Close()
	tests, err := h.load("testdata/fail/fail_test.lua")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"eq":                "testdata/fail/fail_test.lua:2: values: expected {a = 2}, got {a = 1}",
		"ok":                "testdata/fail/fail_test.lua:6: present: expected a true value, got nil",
		"raise":             "testdata/fail/fail_test.lua:11: attempt to index a non-table object(nil) with key 'field'",
		"err without error": "testdata/fail/fail_test.lua:15: err: expected an error",
		"passes":            "",
	}
	if len(tests) != len(want) {
		t.Fatalf("got %d tests, want %d", len(tests), len(want))
	}
	for _, tc := range tests {
		err := h.run(tc)
		switch {
		case want[tc.name] == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case want[tc.name] == "":
		case err == nil:
			t.Errorf("%s: passed, want failure %q", tc.name, want[tc.name])
		case !strings.HasPrefix(err.Error(), want[tc.name]):
			t.Errorf("%s: error %q, want prefix %q", tc.name, err, want[tc.name])
		case !strings.Contains(err.Error(), "stack traceback"):
			t.Errorf("%s: error has no traceback: %q", tc.name, err)
		}
	}
}

func TestHarness_loadErrors(t *testing.T) {
	h := newHarness(nil)
	defer h.L.Close()
	if _, err := h.load("testdata/missing_test.lua"); err == nil {
		t.Error("missing file loaded")
	}
}

func TestCheckExports(t *testing.T) {
	CheckExports(t, &probe{}, "build_phase", "deadline", "loads", "request_id")
}

func TestNewState(t *testing.T) {
	L := NewState(t, &probe{})
	if err := L.DoString(`eq(require("vbwd.probe").loads(), 1)`); err != nil {
		t.Fatal(err)
	}
}
