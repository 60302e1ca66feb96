package engine

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	lua "github.com/yuin/gopher-lua"
)

// State is one sandboxed Lua state of a generation's pool, with the handler
// functions its own routes(r) registered (closures of this state).
type State struct {
	L        *lua.LState
	gen      *Generation
	plugin   *lua.LTable
	handlers []*lua.LFunction
	broken   bool // set when the state must not be reused

	// The request being served; read by the lazy fields of req.
	reqMeta *lua.LTable
	jsonFn  *lua.LFunction
	curReq  *http.Request
	curBody []byte
}

func (s *State) close() { s.L.Close() }

// initRequestMeta builds the metatable shared by the req tables of this
// state: headers, query, params, body and the json method are built only
// when a handler reads them.
func (s *State) initRequestMeta() {
	L := s.L
	s.reqMeta = L.NewTable()
	s.reqMeta.RawSetString("__index", L.NewFunction(s.reqIndex))
	s.reqMeta.RawSetString("__metatable", lua.LString("req"))
	s.jsonFn = L.NewFunction(s.reqJSON)
}

// newRequestTable builds the req table of one call.
func (s *State) newRequestTable(r *http.Request, body []byte, requestID string) *lua.LTable {
	s.curReq, s.curBody = r, body
	t := s.L.CreateTable(0, 4)
	t.RawSetString("method", lua.LString(r.Method))
	t.RawSetString("path", lua.LString(r.URL.Path))
	t.RawSetString("request_id", lua.LString(requestID))
	t.Metatable = s.reqMeta
	return t
}

// endRequest drops the references to the finished request.
func (s *State) endRequest() { s.curReq, s.curBody = nil, nil }

func (s *State) reqIndex(L *lua.LState) int {
	t := L.CheckTable(1)
	key := L.CheckString(2)
	r := s.curReq
	if r == nil {
		L.Push(lua.LNil)
		return 1
	}
	var v lua.LValue = lua.LNil
	switch key {
	case "json":
		L.Push(s.jsonFn)
		return 1
	case "query_all":
		L.Push(L.NewFunction(s.reqQueryAll))
		return 1
	case "headers":
		v = headersTable(L, r.Header)
	case "query":
		v = queryTable(L, r)
	case "params":
		v = paramsTable(L, r)
	case "body":
		v = lua.LString(s.curBody)
	case "host":
		v = lua.LString(r.Host)
	case "remote_addr":
		v = lua.LString(r.RemoteAddr)
	default:
		L.Push(lua.LNil)
		return 1
	}
	t.RawSetString(key, v)
	L.Push(v)
	return 1
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

func paramsTable(L *lua.LState, r *http.Request) *lua.LTable {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return L.NewTable()
	}
	t := L.CreateTable(0, len(rc.URLParams.Keys))
	for i, k := range rc.URLParams.Keys {
		if k == "*" {
			k = "rest"
		}
		t.RawSetString(k, lua.LString(rc.URLParams.Values[i]))
	}
	return t
}

// reqQueryAll is req:query_all(name): every value of a query parameter.
func (s *State) reqQueryAll(L *lua.LState) int {
	name := L.CheckString(2)
	t := luaconv.MarkArray(L.NewTable())
	if s.curReq != nil {
		for _, v := range s.curReq.URL.Query()[name] {
			t.Append(lua.LString(v))
		}
	}
	L.Push(t)
	return 1
}

// reqJSON is req:json(): the decoded body; a missing or malformed body
// raises a 400 status error.
func (s *State) reqJSON(L *lua.LState) int {
	if len(s.curBody) == 0 {
		L.Error(statusTable(L, http.StatusBadRequest, "request body is empty, JSON expected"), 0)
	}
	v, err := luaconv.DecodeJSON(L, s.curBody)
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
