package auth

import (
	"encoding/json"
	"errors"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	iauth "github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// MaxRoles bounds the roles of one token.
const MaxRoles = 64

// Module is the vbwd.auth module bound to one plugin.
type Module struct {
	issuer *iauth.Issuer // nil: the engine issues no tokens
	plugin string
	clock  func() time.Time
}

// New returns the module for plugin, signing with issuer (nil: issue
// answers nil, err) at the time clock tells (nil: time.Now).
func New(issuer *iauth.Issuer, plugin string, clock func() time.Time) *Module {
	if clock == nil {
		clock = time.Now
	}
	return &Module{issuer: issuer, plugin: plugin, clock: clock}
}

// Name returns "auth".
func (m *Module) Name() string { return "auth" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 2), map[string]lua.LGFunction{
		"issue":  m.issue,
		"issuer": m.issuerURL,
	}))
	return 1
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "issue", Sig: "issue(opts: table): string?, string?", Doc: "sign an EdDSA access token with the engine's key: opts {sub: string, roles?: string[], ttl: seconds (1..2592000), claims?: table of extra claims (not iss, sub, aud, exp, nbf, iat, jti, roles, vbwd_plugin)}; the engine accepts it as a bearer token (req.user = {id = sub, roles}); returns the token, or nil and an error"},
		{Name: "issuer", Sig: "issuer(): string?", Doc: "the iss of the engine's tokens (root config.json vbwd.auth.issuer), or nil when the engine issues none"},
	}
}

func (m *Module) issuerURL(L *lua.LState) int {
	if m.issuer == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(m.issuer.URL))
	return 1
}

func (m *Module) issue(L *lua.LState) int {
	opts := L.CheckTable(1)
	sub, ok := opts.RawGetString("sub").(lua.LString)
	if !ok || sub == "" {
		L.ArgError(1, "sub must be a non-empty string")
	}
	ttl, ok := opts.RawGetString("ttl").(lua.LNumber)
	if !ok {
		L.ArgError(1, "ttl must be a number of seconds")
	}
	c := iauth.Claims{Subject: string(sub), TTL: time.Duration(float64(ttl) * float64(time.Second)),
		Roles: checkRoles(L, opts.RawGetString("roles")), Plugin: m.plugin}
	if extra := opts.RawGetString("claims"); extra != lua.LNil {
		c.Extra = checkClaims(L, extra)
	}
	if m.issuer == nil {
		return fail(L, errors.New("the engine issues no tokens (no issuer key)"))
	}
	tok, err := m.issuer.Issue(c, m.clock())
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LString(tok))
	return 1
}

func checkRoles(L *lua.LState, v lua.LValue) []string {
	if v == lua.LNil {
		return nil
	}
	t, ok := v.(*lua.LTable)
	if !ok || t.Len() > MaxRoles {
		L.ArgError(1, "roles must be a list of at most 64 strings")
	}
	roles := make([]string, 0, t.Len())
	for i := 1; i <= t.Len(); i++ {
		s, ok := t.RawGetInt(i).(lua.LString)
		if !ok || s == "" {
			L.ArgError(1, "roles must be a list of non-empty strings")
		}
		roles = append(roles, string(s))
	}
	return roles
}

func checkClaims(L *lua.LState, v lua.LValue) map[string]any {
	if _, ok := v.(*lua.LTable); !ok {
		L.ArgError(1, "claims must be a table")
	}
	b, err := luaconv.AppendJSONSandboxed(L, v)
	if err != nil {
		L.ArgError(1, "claims: "+err.Error())
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		L.ArgError(1, "claims must be an object")
	}
	return out
}

func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}

var _ hostapi.Documented = (*Module)(nil)
