package test

import (
	_ "embed"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

//go:embed prelude.lua
var prelude string

// Harness is what the test module needs from the test runner.
type Harness interface {
	// Request serves one request in-process; as, when set, authenticates it.
	Request(L *lua.LState, method, path string, body []byte, headers map[string]string, as *hostapi.User) (int, http.Header, []byte)
	// Populate runs the enabled plugins' populate.lua.
	Populate(L *lua.LState) error
	// Clock control.
	SetNow(t time.Time)
	// Advance moves the clock by d, then runs what became due: ctx:every
	// jobs and durable event deliveries (retries included).
	Advance(L *lua.LState, d time.Duration) error
	Now() time.Time
	// Events lists the events named name seen since the current test began.
	Events(name string) []map[string]any
	// Deliver runs every pending durable event due now (test clock) to
	// completion and returns the number of delivery attempts.
	Deliver(L *lua.LState) (int, error)
	// SetConfig reloads plugin (the plugin under test when "") with cfg
	// over its config.json defaults.
	SetConfig(L *lua.LState, plugin string, cfg map[string]any) error
	// HTTPStub answers vbwd.http requests matching method ("*": any) and
	// pattern (a URL, "*" matching any text) for the rest of the test.
	HTTPStub(method, pattern string, status int, headers map[string]string, body []byte)
	// HTTPCalls lists the vbwd.http requests made during the test.
	HTTPCalls() []map[string]any
}

// Module is vbwd.test, offered only inside `vbwd test`.
type Module struct {
	h     Harness
	once  sync.Once
	proto *lua.FunctionProto
	err   error
}

// New returns the module over h.
func New(h Harness) *Module { return &Module{h: h} }

// Name returns "test".
func (m *Module) Name() string { return "test" }

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "test", Sig: "test(name: string, fn: function)", Doc: "declare a test; each runs in its order, a failure or Lua error fails only that test"},
		{Name: "eq", Sig: "eq(actual: any, expected: any, msg?: string)", Doc: "deep equality, failing with a per-path diff"},
		{Name: "ok", Sig: "ok(v: any, msg?: string)", Doc: "fail unless v is true-ish"},
		{Name: "match", Sig: "match(s: string, pattern: string, msg?: string)", Doc: "fail unless s matches the Lua pattern"},
		{Name: "err", Sig: "err(fn: function, pattern?: string, msg?: string): any", Doc: "fail unless fn raises (an error matching pattern); returns the error"},
		{Name: "repr", Sig: "repr(v: any): string", Doc: "a readable one-line form of any value"},
		{Name: "get", Sig: "get(path: string, opts?: table): table", Doc: "in-process request: opts {json, body, headers, as = {id, roles}}; returns {status, headers, body, json}"},
		{Name: "post", Sig: "post(path: string, opts?: table): table", Doc: "like get, with POST"},
		{Name: "put", Sig: "put(path: string, opts?: table): table", Doc: "like get, with PUT"},
		{Name: "patch", Sig: "patch(path: string, opts?: table): table", Doc: "like get, with PATCH"},
		{Name: "delete", Sig: "delete(path: string, opts?: table): table", Doc: "like get, with DELETE"},
		{Name: "populate", Sig: "populate()", Doc: "load the enabled plugins' demo data (populate.lua)"},
		{Name: "time", Sig: "time: table", Doc: "clock control: time.set(rfc3339 or unix seconds); time.advance(seconds), which then runs the ctx:every jobs whose interval passed and delivers the durable events (retries included) now due; time.now()"},
		{Name: "deliver", Sig: "deliver(): integer", Doc: "deliver every pending durable event that is due (test clock), including due retries and events their handlers publish, before returning; returns the number of delivery attempts"},
		{Name: "config", Sig: "config(cfg: table, plugin?: string)", Doc: "reload the plugin under test (or plugin) with cfg over its config.json defaults, for the rest of the file (requests, deliveries); the test file's own state keeps its config"},
		{Name: "http", Sig: "http: table", Doc: "vbwd.http stubs: http.stub(method, url_pattern, {status, json | body, headers}) for the rest of the test (\"*\" in the pattern matches any text; the latest matching stub answers); http.calls() lists {method, url, headers, body, json}; an unstubbed request fails"},
		{Name: "expect_event", Sig: "expect_event(name: string, msg?: string): table, table", Doc: "the last event named name published or emitted during this test (and all of them); fails when none"},
		{Name: "_tests", Sig: "_tests(): table", Doc: "the declared tests (used by the runner)"},
	}
}

// Loader runs the Lua half with the Go functions.
func (m *Module) Loader(L *lua.LState) int {
	m.once.Do(func() {
		stmts, err := parse.Parse(strings.NewReader(prelude), "vbwd.test")
		if err == nil {
			m.proto, err = lua.Compile(stmts, "vbwd.test")
		}
		m.err = err
	})
	if m.err != nil {
		L.RaiseError("vbwd.test: %v", m.err)
	}
	host := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"request": m.request, "populate": m.populate, "events": m.events,
		"time_set": m.timeSet, "time_advance": m.timeAdvance, "time_now": m.timeNow,
		"deliver": m.deliver, "config": m.config, "http_stub": m.httpStub, "http_calls": m.httpCalls,
	})
	L.Push(L.NewFunctionFromProto(m.proto))
	L.Push(host)
	L.Call(1, 1)
	return 1
}

func (m *Module) request(L *lua.LState) int {
	method, path := L.CheckString(1), L.CheckString(2)
	var body []byte
	if s, ok := L.Get(3).(lua.LString); ok {
		body = []byte(s)
	}
	headers := map[string]string{}
	if t, ok := L.Get(4).(*lua.LTable); ok {
		t.ForEach(func(k, v lua.LValue) { headers[k.String()] = v.String() })
	}
	var as *hostapi.User
	if t, ok := L.Get(5).(*lua.LTable); ok {
		as = &hostapi.User{ID: t.RawGetString("id").String()}
		if roles, ok := t.RawGetString("roles").(*lua.LTable); ok {
			for i := 1; i <= roles.Len(); i++ {
				as.Roles = append(as.Roles, roles.RawGetInt(i).String())
			}
		}
	}
	status, hdr, out := m.h.Request(L, method, path, body, headers, as)
	res := L.CreateTable(0, 4)
	res.RawSetString("status", lua.LNumber(status))
	ht := L.CreateTable(0, len(hdr))
	for k, vs := range hdr {
		ht.RawSetString(strings.ToLower(k), lua.LString(strings.Join(vs, ", ")))
	}
	res.RawSetString("headers", ht)
	res.RawSetString("body", lua.LString(out))
	L.Push(res)
	return 1
}

func (m *Module) populate(L *lua.LState) int {
	if err := m.h.Populate(L); err != nil {
		L.RaiseError("populate: %v", err)
	}
	return 0
}

func (m *Module) events(L *lua.LState) int {
	list := m.h.Events(L.CheckString(1))
	out := luaconv.MarkArray(L.NewTable())
	for _, ev := range list {
		out.Append(luaconv.FromGo(L, ev))
	}
	L.Push(out)
	return 1
}

func (m *Module) timeSet(L *lua.LState) int {
	switch v := L.Get(1).(type) {
	case lua.LNumber:
		m.h.SetNow(time.Unix(0, int64(float64(v)*1e9)).UTC())
	case lua.LString:
		t, err := time.Parse(time.RFC3339, string(v))
		if err != nil {
			L.ArgError(1, "RFC 3339 time or unix seconds expected")
		}
		m.h.SetNow(t)
	default:
		L.ArgError(1, "RFC 3339 time or unix seconds expected")
	}
	return 0
}

func (m *Module) timeAdvance(L *lua.LState) int {
	if err := m.h.Advance(L, time.Duration(float64(L.CheckNumber(1))*float64(time.Second))); err != nil {
		L.RaiseError("time.advance: %v", err)
	}
	return 0
}

func (m *Module) timeNow(L *lua.LState) int {
	L.Push(lua.LString(m.h.Now().UTC().Format(time.RFC3339Nano)))
	return 1
}

func (m *Module) deliver(L *lua.LState) int {
	n, err := m.h.Deliver(L)
	if err != nil {
		L.RaiseError("deliver: %v", err)
	}
	L.Push(lua.LNumber(n))
	return 1
}

func (m *Module) config(L *lua.LState) int {
	v, err := luaconv.ToGo(L.CheckTable(1))
	cfg, ok := v.(map[string]any)
	if err != nil || !ok {
		L.ArgError(1, "a config object (a table with string keys) expected")
	}
	if err := m.h.SetConfig(L, L.OptString(2, ""), cfg); err != nil {
		L.RaiseError("config: %v", err)
	}
	return 0
}

// httpStub(method, pattern, status, body, headers) is the Go half of
// t.http.stub (the prelude encodes json bodies).
func (m *Module) httpStub(L *lua.LState) int {
	headers := map[string]string{}
	if t, ok := L.Get(5).(*lua.LTable); ok {
		t.ForEach(func(k, v lua.LValue) { headers[k.String()] = v.String() })
	}
	m.h.HTTPStub(strings.ToUpper(L.CheckString(1)), L.CheckString(2), L.CheckInt(3), headers, []byte(L.OptString(4, "")))
	return 0
}

func (m *Module) httpCalls(L *lua.LState) int {
	out := luaconv.MarkArray(L.NewTable())
	for _, c := range m.h.HTTPCalls() {
		out.Append(luaconv.FromGo(L, c))
	}
	L.Push(out)
	return 1
}
