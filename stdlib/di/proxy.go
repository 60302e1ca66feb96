package di

import (
	"context"
	"errors"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// proxyName is what getmetatable(proxy) answers: the metatable itself is
// protected, so plugins can neither read nor replace it.
const proxyName = "vbwd.di service"

// proxy is the caller-side handle of one service in one Lua state. Its Lua
// table stays empty, so every read goes to __index and every write to
// __newindex (refused): __index binds a method on first access and keeps it
// in methods, not in the table, where an assignment would replace it for
// every later di.get of the name in this state.
type proxy struct {
	r       Resolver
	name    string
	target  Target
	self    *lua.LTable
	methods map[string]*lua.LFunction
}

func newProxy(L *lua.LState, r Resolver, name string, t Target) *proxy {
	p := &proxy{r: r, name: name, target: t, self: L.NewTable(), methods: map[string]*lua.LFunction{}}
	mt := L.CreateTable(0, 4)
	mt.RawSetString("__index", L.NewFunction(p.index))
	mt.RawSetString("__newindex", L.NewFunction(p.newIndex))
	mt.RawSetString("__tostring", L.NewFunction(p.toString))
	mt.RawSetString("__metatable", lua.LString(proxyName))
	L.SetMetatable(p.self, mt)
	return p
}

// index implements proxy[key]: a function calling method key. Whether the
// method exists is checked at call time, by the provider's generation
// serving then.
func (p *proxy) index(L *lua.LState) int {
	key, ok := L.Get(2).(lua.LString)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	method := string(key)
	fn := p.methods[method]
	if fn == nil {
		if p.target.Go != nil {
			fn = p.goMethod(L, method)
		} else {
			fn = L.NewFunction(func(L *lua.LState) int { return p.call(L, method) })
		}
		p.methods[method] = fn
	}
	L.Push(fn)
	return 1
}

// pristine reports whether the proxy's table is still empty: rawset can
// put a value in it, which a proxy handed out again would keep.
func (p *proxy) pristine() bool {
	k, _ := p.self.Next(lua.LNil)
	return k == lua.LNil
}

func (p *proxy) newIndex(L *lua.LState) int {
	L.RaiseError("service %s: the proxy is read-only", p.name)
	return 0
}

func (p *proxy) toString(L *lua.LState) int {
	L.Push(lua.LString("service " + p.name))
	return 1
}

// firstArg is 2 when the call is proxy:method(...) (the proxy is dropped),
// 1 otherwise.
func (p *proxy) firstArg(L *lua.LState) int {
	if L.GetTop() >= 1 && L.Get(1) == lua.LValue(p.self) {
		return 2
	}
	return 1
}

// call runs method of a Lua service: arguments are copied out of this
// state as plain data, the provider runs them in one of its own states,
// and the results are copied back in.
func (p *proxy) call(L *lua.LState, method string) int {
	first := p.firstArg(L)
	args := make([]any, L.GetTop()-first+1)
	for i := range args {
		v, err := luaconv.ToGo(L.Get(first + i))
		if err != nil {
			L.ArgError(first+i, "cannot copy to service "+p.name+": "+err.Error())
		}
		args[i] = v
	}
	res, err := p.r.Call(callContext(L), p.name, method, args)
	if err != nil {
		raise(L, p.name+"."+method, err)
	}
	for _, v := range res {
		L.Push(luaconv.FromGo(L, v))
	}
	return len(res)
}

func callContext(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// raise re-raises a failed call in the caller: a status error as the same
// kind of table, anything else as a message naming the call.
func raise(L *lua.LState, call string, err error) {
	var se *StatusError
	if errors.As(err, &se) {
		L.Error(statusTable(L, se), 1)
	}
	L.RaiseError("%s: %s", call, err.Error())
}

func statusTable(L *lua.LState, se *StatusError) *lua.LTable {
	t := L.CreateTable(0, len(se.Extra)+2)
	for k, v := range se.Extra {
		t.RawSetString(k, luaconv.FromGo(L, v))
	}
	t.RawSetString("status", lua.LNumber(se.Status))
	if se.Message != "" {
		t.RawSetString("message", lua.LString(se.Message))
	}
	return t
}
