package luavm

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// sandboxWith is a sandboxed state running a plugin whose init.lua is code.
func sandboxWith(t *testing.T, code string) *lua.LState {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "plugins", "deep")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "init.lua"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := LoadSource(root, "deep")
	if err != nil {
		t.Fatal(err)
	}
	L := NewSandbox(src, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	L.Push(L.NewFunctionFromProto(src.Entry))
	if err := L.PCall(0, 0, nil); err != nil {
		t.Fatal(err)
	}
	return L
}

// Deep recursion in a sandboxed state (its call stack grows in segments)
// fails as a Lua error at the recursing line, which pcall catches, and the
// state goes on. Before the fix in the patched gopher-lua the segmented
// stack never reported itself full: Push panicked with "lua callstack
// overflow" and no position.
func TestSandbox_DeepRecursionNamesTheLine(t *testing.T) {
	L := sandboxWith(t, `
local function f(n)
  return f(n + 1) + 1
end
function recurse()
  local ok, err = pcall(f, 1)
  return tostring(ok) .. " " .. tostring(err)
end
`)
	defer L.Close()
	for i := 0; i < 3; i++ { // the state is reusable after each overflow
		if err := L.CallByParam(lua.P{Fn: L.GetGlobal("recurse"), NRet: 1, Protect: true}); err != nil {
			t.Fatal(err)
		}
		got := L.Get(-1).String()
		L.Pop(1)
		if !strings.HasPrefix(got, "false plugins/deep/init.lua:3:") || !strings.Contains(got, "stack overflow") {
			t.Fatalf("deep recursion: %q, want a stack overflow at plugins/deep/init.lua:3", got)
		}
	}
}

// A call whose deadline a builtin saw (the pattern matcher checks the
// context itself) ends with its state discarded, even when the Lua code
// caught the error and returned before the call watcher's next poll: the
// interrupted state may hold half-done work.
func TestPool_StateInterruptedByItsDeadlineIsDiscarded(t *testing.T) {
	p := NewPool(PoolConfig{Plugin: "deep", Max: 1}, func(context.Context) (*VM, error) {
		return &VM{L: sandboxWith(t, `
function slow()
  local ok = pcall(string.find, string.rep("a", 20000), "(.-)(.-)(.-)x$")
  return ok
end
`)}, nil
	})
	defer func() { _ = p.Close(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var caught bool
	err := p.Run(ctx, func(vm *VM) error {
		if err := vm.L.CallByParam(lua.P{Fn: vm.L.GetGlobal("slow"), NRet: 1, Protect: true}); err != nil {
			return err
		}
		caught = vm.L.Get(-1) == lua.LFalse
		vm.L.Pop(1)
		return nil
	})
	if err == nil && !caught {
		t.Fatal("the pattern search ended before its deadline: the test proves nothing")
	}
	if st := p.Stats(); st.Discards != 1 {
		t.Fatalf("stats after an interrupted call: %+v, want its state discarded", st)
	}
}
