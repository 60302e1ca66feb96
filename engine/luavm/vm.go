package luavm

import lua "github.com/yuin/gopher-lua"

// VM is the Lua side of one pooled state: the sandboxed LState and what
// bounds its calls. The engine's State embeds it, with what the state's
// plugin registered.
type VM struct {
	L      *lua.LState
	Broken bool       // set when the state must not be reused
	guard  *callGuard // memory budget and watchdog registration of its calls (memory.go)
	slot   *callSlot  // its place in the call watcher (watch.go), made at its first pooled call
}

// Stater is a pooled state: one that embeds a VM.
type Stater interface{ Core() *VM }

// Core returns the VM itself, for the pool.
func (v *VM) Core() *VM { return v }

// Close closes the Lua state.
func (v *VM) Close() { v.L.Close() }

// Interrupted is what long native work (JSON encoding) polls during a call:
// the call's guard, or L.Interrupted before the state's first pooled call.
func (v *VM) Interrupted() func() error {
	if v.guard != nil {
		return v.guard.check
	}
	return v.L.Interrupted
}
