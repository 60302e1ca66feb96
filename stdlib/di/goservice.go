package di

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"
)

// GoService is a Go value offered to Lua as a service: a narrow facade that
// shows its exported methods (by Go name and snake_case name) and nothing
// else. Calls run in the caller's state through gopher-luar.
type GoService struct {
	value   reflect.Value
	methods map[string]goMethod
}

type goMethod struct {
	index   int          // in value's method set
	withCtx bool         // the first parameter is a context.Context
	errLast bool         // the last result is an error
	luaType reflect.Type // the signature luar sees (without the context)
}

var (
	ctxType = reflect.TypeOf((*context.Context)(nil)).Elem()
	errType = reflect.TypeOf((*error)(nil)).Elem()
)

// NewGoService builds the facade of v, which must have exported methods.
func NewGoService(v any) (*GoService, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil() {
		return nil, errors.New("service value is nil")
	}
	t := rv.Type()
	if t.NumMethod() == 0 {
		return nil, fmt.Errorf("service value of type %s has no exported methods", t)
	}
	s := &GoService{value: rv, methods: make(map[string]goMethod, 2*t.NumMethod())}
	for i := range t.NumMethod() {
		m := t.Method(i)
		ft := rv.Method(i).Type()
		gm := goMethod{index: i, luaType: ft}
		if ft.NumIn() > 0 && ft.In(0) == ctxType {
			gm.withCtx = true
			gm.luaType = withoutFirstParam(ft)
		}
		gm.errLast = ft.NumOut() > 0 && ft.Out(ft.NumOut()-1) == errType
		s.methods[m.Name] = gm
		s.methods[SnakeCase(m.Name)] = gm
	}
	return s, nil
}

// Methods lists the Lua names of the service's methods.
func (s *GoService) Methods() []string {
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	return names
}

func withoutFirstParam(ft reflect.Type) reflect.Type {
	in := make([]reflect.Type, ft.NumIn()-1)
	for i := range in {
		in[i] = ft.In(i + 1)
	}
	out := make([]reflect.Type, ft.NumOut())
	for i := range out {
		out[i] = ft.Out(i)
	}
	return reflect.FuncOf(in, out, ft.IsVariadic())
}

// goMethod binds method name of a Go service in L: luar converts the
// arguments and results; this wrapper drops a proxy:method self argument,
// hands a context-first method the caller's context and turns a trailing
// error result into nil, message.
func (p *proxy) goMethod(L *lua.LState, name string) *lua.LFunction {
	gm, ok := p.target.Go.methods[name]
	if !ok {
		return L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("service %s has no method %s", p.name, name)
			return 0
		})
	}
	mv := p.target.Go.value.Method(gm.index)
	var cell *context.Context // the running call's context; states are single-threaded
	fn := mv
	if gm.withCtx {
		cell = new(context.Context)
		fn = reflect.MakeFunc(gm.luaType, func(in []reflect.Value) []reflect.Value {
			return mv.Call(append([]reflect.Value{reflect.ValueOf(*cell)}, in...))
		})
	}
	lf := luar.New(L, fn.Interface()).(*lua.LFunction)
	call := p.name + "." + name
	return L.NewFunction(func(L *lua.LState) int {
		if p.firstArg(L) == 2 {
			L.Remove(1)
		}
		if cell != nil {
			*cell = callContext(L)
			defer func() { *cell = nil }()
		}
		defer recoverGoPanic(L, call)
		L.Insert(lf, 1)
		L.Call(L.GetTop()-1, lua.MultRet)
		n := L.GetTop()
		if gm.errLast && n > 0 {
			errorResult(L, n)
		}
		return n
	})
}

// errorResult rewrites results 1..n whose last is a Go error: nil becomes
// nil, a non-nil error its message with the other results set to nil.
func errorResult(L *lua.LState, n int) {
	ud, ok := L.Get(n).(*lua.LUserData)
	if !ok {
		return
	}
	err, ok := ud.Value.(error)
	if !ok {
		return
	}
	for i := 1; i < n; i++ {
		L.Replace(i, lua.LNil)
	}
	L.Replace(n, lua.LString(err.Error()))
}

// recoverGoPanic turns a panic in a Go service method into a Lua error;
// Lua errors (luar's argument errors among them) pass through.
func recoverGoPanic(L *lua.LState, call string) {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(*lua.ApiError); ok {
		panic(r)
	}
	L.RaiseError("%s: go service panicked: %v", call, r)
}

// SnakeCase converts a Go identifier to snake_case: IsActive -> is_active,
// UserID -> user_id, HTTPStatus -> http_status.
func SnakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && !unicode.IsUpper(rs[i-1])
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])
			if i > 0 && (prevLower || nextLower) && rs[i-1] != '_' {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
