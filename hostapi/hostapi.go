// Package hostapi is the small contract between the engine and the host
// modules under stdlib/: how a module is bound to a plugin generation, how it
// is loaded into a Lua state, and what it may learn about the call it serves
// (build phase or request, request id) from the state's context.
//
// It is importable outside this module (it is not under internal/), since
// engine.Options.ExtraModules names its types: a program embedding the
// engine can add host modules of its own.
package hostapi

import (
	"context"
	"log/slog"

	lua "github.com/yuin/gopher-lua"
)

// Plugin identifies the plugin generation a module instance is bound to.
type Plugin struct {
	Name       string       // plugin name, equal to its directory name
	Generation int64        // generation number, increasing per load of the plugin
	Dir        string       // absolute path of plugins/<name>
	Logger     *slog.Logger // already tagged with plugin and generation
}

// Module is a host module instance bound to one plugin generation. The engine
// makes it available to that generation's states as require("vbwd.<Name()>").
type Module interface {
	// Name is the module name without the "vbwd." prefix, e.g. "json".
	Name() string
	// Loader pushes the module table onto the stack and returns 1. It runs
	// once per Lua state, the first time the state requires the module.
	Loader(L *lua.LState) int
}

// Factory builds a module instance for one plugin generation.
type Factory func(p Plugin) Module

type phaseKey struct{}
type requestKey struct{}

// Request is what a host module may learn about the HTTP request (or other
// call) a state is serving.
type Request struct {
	ID   string // request id, also sent back in X-Request-Id
	User *User  // the authenticated caller, nil when anonymous
}

// User is the authenticated caller of a request: from a verified token.
type User struct {
	ID     string
	Roles  []string
	Claims map[string]any
}

// WithBuildPhase marks ctx as the build phase of a state (initialize, routes,
// on_enable): these run once per state of the pool, so host modules must
// refuse writes with side effects outside the state during it.
func WithBuildPhase(ctx context.Context) context.Context {
	return context.WithValue(ctx, phaseKey{}, true)
}

// InBuildPhase reports whether L is currently running its build phase.
func InBuildPhase(L *lua.LState) bool {
	ctx := L.Context()
	if ctx == nil {
		return false
	}
	v, _ := ctx.Value(phaseKey{}).(bool)
	return v
}

// WithRequest attaches request metadata to ctx.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestKey is the context key WithRequest stores a *Request under. A
// context type that carries the request itself (the engine's per-call
// context, saving WithRequest's allocations on every request) answers
// Value(RequestKey()) with it; RequestFrom reads either.
func RequestKey() any { return requestKey{} }

// RequestFrom returns the request metadata in ctx, or nil.
func RequestFrom(ctx context.Context) *Request {
	if ctx == nil {
		return nil
	}
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// RequestOf returns the request metadata of the call L is serving, or nil.
func RequestOf(L *lua.LState) *Request {
	return RequestFrom(L.Context())
}
