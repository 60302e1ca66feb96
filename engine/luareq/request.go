// Package luareq is the req object a Lua route handler receives: a
// userdata over the *http.Request whose headers, query, params and user are
// built only when read, refusing reads after its request finished.
package luareq

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	lua "github.com/yuin/gopher-lua"
)

// reqData backs the req userdata of one call. req is a userdata rather than
// a table because a gopher-lua table with string keys costs two maps and a
// slice: fields are read through __index on demand, and fields a handler
// sets on req live in a side table made only when needed. Once the call
// returns, req refuses to be read (a handler that kept it sees an error,
// never another request's data).
type reqData struct {
	ud      lua.LUserData // req itself, and req.params: one allocation with the data
	params  lua.LUserData // its Value is (*paramsData)(d)
	meta    *Meta
	r       *http.Request
	rctx    *chi.Context // the route's path parameters
	body    []byte
	id      string
	done    bool
	headers *lua.LTable // built on first read
	query   *lua.LTable
	extra   *lua.LTable // fields set by the handler
	user    *hostapi.User
	userTbl lua.LValue // req.user, built on first read
}

// Preboxed method names: boxing a string into an LValue allocates.
var (
	lGET    lua.LValue = lua.LString("GET")
	lPOST   lua.LValue = lua.LString("POST")
	lPUT    lua.LValue = lua.LString("PUT")
	lPATCH  lua.LValue = lua.LString("PATCH")
	lDELETE lua.LValue = lua.LString("DELETE")
)

func methodValue(m string) lua.LValue {
	switch m {
	case "GET":
		return lGET
	case "POST":
		return lPOST
	case "PUT":
		return lPUT
	case "PATCH":
		return lPATCH
	case "DELETE":
		return lDELETE
	}
	return lua.LString(m)
}

// Meta is the metatables and methods of the req and req.params userdata of
// one state.
type Meta struct {
	reqMeta    *lua.LTable
	paramsMeta *lua.LTable
	jsonFn     *lua.LFunction
	queryAllFn *lua.LFunction
}

// Init builds the metatables shared by the req and req.params userdata of
// the state L.
func (s *Meta) Init(L *lua.LState) {
	s.reqMeta = L.NewTable()
	s.reqMeta.RawSetString("__index", L.NewFunction(s.reqIndex))
	s.reqMeta.RawSetString("__newindex", L.NewFunction(reqNewIndex))
	s.reqMeta.RawSetString("__tostring", L.NewFunction(reqToString))
	s.reqMeta.RawSetString("__metatable", lua.LString("req"))
	s.paramsMeta = L.NewTable()
	s.paramsMeta.RawSetString("__index", L.NewFunction(paramsIndex))
	s.paramsMeta.RawSetString("__metatable", lua.LString("params"))
	s.jsonFn = L.NewFunction(reqJSON)
	s.queryAllFn = L.NewFunction(reqQueryAll)
}

// New makes the req userdata of one call, for user (nil: anonymous), with
// the path parameters of params (nil: those of r's chi route context); end
// it with Finish.
func (s *Meta) New(L *lua.LState, r *http.Request, params *chi.Context, body []byte, requestID string, user *hostapi.User) (*lua.LUserData, *Data) {
	d := new(reqData)
	return s.NewIn(d, L, r, params, body, requestID, user), d
}

// NewIn is New making the req in d, which must be zero and used once: a
// caller that allocates per request anyway (the route's call context)
// holds the req's data too, one allocation less. Lua code may keep req
// past the call, which keeps d alive: d is never reused.
func (s *Meta) NewIn(d *Data, L *lua.LState, r *http.Request, params *chi.Context, body []byte, requestID string, user *hostapi.User) *lua.LUserData {
	if params == nil {
		params = chi.RouteContext(r.Context())
	}
	*d = reqData{meta: s, r: r, rctx: params, body: body, id: requestID, user: user}
	d.ud = lua.LUserData{Env: L.Env, Metatable: s.reqMeta, Value: d} // as L.NewUserData
	return &d.ud
}

// Data is one call's req.
type Data = reqData

// Finish makes the req refuse reads: its request is over.
func (d *reqData) Finish() { d.done = true }

func checkReq(L *lua.LState, n int) *reqData {
	ud, ok := L.Get(n).(*lua.LUserData)
	if ok {
		if d, ok := ud.Value.(*reqData); ok {
			if d.done {
				L.RaiseError("req is used after its request finished")
			}
			return d
		}
	}
	L.ArgError(n, "req expected (call it as req:method())")
	return nil
}

// reqIndex is req's __index, for reads with a computed key (req[k]); the
// VM reads req.name through IndexField without it.
func (s *Meta) reqIndex(L *lua.LState) int {
	d := checkReq(L, 1)
	L.Push(d.field(L, L.CheckString(2)))
	return 1
}

// IndexField is req.key (lua.FieldIndexer).
func (d *reqData) IndexField(L *lua.LState, key string) lua.LValue {
	if d.done {
		L.RaiseError("req is used after its request finished")
	}
	return d.field(L, key)
}

func (d *reqData) field(L *lua.LState, key string) lua.LValue {
	s := d.meta
	var v lua.LValue
	switch key {
	case "method":
		v = methodValue(d.r.Method)
	case "path":
		v = lua.LString(d.r.URL.Path)
	case "request_id":
		v = lua.LString(d.id)
	case "params":
		if d.params.Value == nil {
			d.params = lua.LUserData{Env: L.Env, Metatable: s.paramsMeta, Value: (*paramsData)(d)}
		}
		v = &d.params
	case "query":
		if d.query == nil {
			d.query = queryTable(L, d.r)
		}
		v = d.query
	case "headers":
		if d.headers == nil {
			d.headers = headersTable(L, d.r.Header)
		}
		v = d.headers
	case "body":
		v = lua.LString(d.body)
	case "host":
		v = lua.LString(d.r.Host)
	case "remote_addr":
		v = lua.LString(d.r.RemoteAddr)
	case "user":
		if d.userTbl == nil {
			d.userTbl = userTable(L, d.user)
		}
		v = d.userTbl
	case "json":
		v = s.jsonFn
	case "query_all":
		v = s.queryAllFn
	default:
		v = lua.LNil
		if d.extra != nil {
			v = d.extra.RawGetString(key)
		}
	}
	return v
}

// reqNewIndex keeps fields a handler sets on req (req.cache = ...), except
// the engine's own.
func reqNewIndex(L *lua.LState) int {
	d := checkReq(L, 1)
	key := L.CheckString(2)
	switch key {
	case "method", "path", "request_id", "params", "query", "headers", "body", "host", "remote_addr", "json", "query_all", "user":
		L.RaiseError("req.%s is read-only", key)
	}
	if d.extra == nil {
		d.extra = L.NewTable()
	}
	d.extra.RawSetString(key, L.Get(3))
	return 0
}

func reqToString(L *lua.LState) int {
	d := checkReq(L, 1)
	L.Push(lua.LString("req " + d.r.Method + " " + d.r.URL.Path))
	return 1
}

// paramsData is the Value of the req.params userdata: the call's reqData,
// as another type so that it answers IndexField as the params.
type paramsData reqData

// paramsIndex is req.params' __index, for reads with a computed key.
func paramsIndex(L *lua.LState) int {
	ud := L.CheckUserData(1)
	p := ud.Value.(*paramsData)
	L.Push(p.IndexField(L, L.CheckString(2)))
	return 1
}

// IndexField reads a path parameter; "rest" is chi's wildcard "*". Values
// are percent-decoded exactly once: chi matches on the raw path when the URL
// holds escapes the decoded path cannot keep (%2F), else on the decoded
// path, so a value from the raw path is decoded here.
func (p *paramsData) IndexField(L *lua.LState, key string) lua.LValue {
	if p.done {
		L.RaiseError("req.params is used after its request finished")
	}
	if key == "rest" {
		key = "*"
	}
	if rc := p.rctx; rc != nil {
		// last match wins, as in chi.URLParam: the url_prefix mount leaves
		// an empty "*" before the route's own
		for i := len(rc.URLParams.Keys) - 1; i >= 0; i-- {
			if rc.URLParams.Keys[i] == key {
				v := rc.URLParams.Values[i]
				if p.r.URL.RawPath != "" {
					if u, err := url.PathUnescape(v); err == nil {
						v = u
					}
				}
				return lua.LString(v)
			}
		}
	}
	return lua.LNil
}

// userTable is req.user: {id, roles, claims}, or nil when anonymous.
func userTable(L *lua.LState, u *hostapi.User) lua.LValue {
	if u == nil {
		return lua.LNil
	}
	t := L.CreateTable(0, 3)
	t.RawSetString("id", lua.LString(u.ID))
	roles := luaconv.MarkArray(L.CreateTable(len(u.Roles), 0))
	for _, r := range u.Roles {
		roles.Append(lua.LString(r))
	}
	t.RawSetString("roles", roles)
	t.RawSetString("claims", luaconv.FromGo(L, u.Claims))
	return t
}

func headersTable(L *lua.LState, h http.Header) *lua.LTable {
	t := L.CreateTable(0, len(h))
	for k, vs := range h {
		t.RawSetString(strings.ToLower(k), lua.LString(strings.Join(vs, ", ")))
	}
	return t
}

func queryTable(L *lua.LState, r *http.Request) *lua.LTable {
	q := r.URL.Query()
	t := L.CreateTable(0, len(q))
	for k, vs := range q {
		if len(vs) > 0 {
			t.RawSetString(k, lua.LString(vs[0]))
		}
	}
	return t
}

// reqQueryAll is req:query_all(name): every value of a query parameter.
func reqQueryAll(L *lua.LState) int {
	d := checkReq(L, 1)
	name := L.CheckString(2)
	t := luaconv.MarkArray(L.NewTable())
	for _, v := range d.r.URL.Query()[name] {
		t.Append(lua.LString(v))
	}
	L.Push(t)
	return 1
}

// reqJSON is req:json(): the decoded body; a missing or malformed body
// raises a 400 status error.
func reqJSON(L *lua.LState) int {
	d := checkReq(L, 1)
	if len(d.body) == 0 {
		L.Error(statusTable(L, http.StatusBadRequest, "request body is empty, JSON expected"), 0)
	}
	v, err := luaconv.DecodeJSON(L, d.body)
	if err != nil {
		L.Error(statusTable(L, http.StatusBadRequest, "invalid JSON body: "+err.Error()), 0)
	}
	L.Push(v)
	return 1
}

func statusTable(L *lua.LState, status int, msg string) *lua.LTable {
	t := L.CreateTable(0, 2)
	t.RawSetString("status", lua.LNumber(status))
	t.RawSetString("message", lua.LString(msg))
	return t
}
