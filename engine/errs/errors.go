// Package errs holds the engine's error types and sentinels and the one place
// where errors from running Lua become Go errors. It imports no other engine
// package, so every layer can use it.
package errs

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	vdb "github.com/vbwd-platform/vbwd-engine/stdlib/db"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Sentinel errors.
var (
	ErrUnknownPlugin  = errors.New("unknown plugin")
	ErrNotEnabled     = errors.New("plugin is not enabled")
	ErrHasDependents  = errors.New("enabled plugins depend on it")
	ErrPoolExhausted  = errors.New("no lua state available before the deadline")
	ErrPoolClosed     = errors.New("pool is closed")
	ErrTimeout        = errors.New("lua call exceeded its deadline")
	ErrCanceled       = errors.New("call canceled by the client")
	ErrRegMismatch    = errors.New("registration mismatch between pooled states")
	ErrEngineStopped  = errors.New("engine is shut down")
	ErrAlreadyEnabled = errors.New("plugin is already enabled")
	ErrRetired        = errors.New("generation was replaced")
	// ErrDatabaseUnavailable: a handler raised a vbwd.db error of class
	// "connection" (the database could not be reached): answered 503.
	ErrDatabaseUnavailable = errors.New("database unavailable")
)

// PluginError is an error attributed to a plugin and, when known, to the file
// and line of the plugin's source that caused it.
type PluginError struct {
	Plugin string // plugin name
	File   string // path relative to the engine root, e.g. plugins/hello/init.lua
	Line   int    // 0 when unknown
	Op     string // what the engine was doing: load, initialize, routes, on_enable, ...
	Err    error
	// Traceback is the Lua traceback when the error came from Lua.
	Traceback string
}

func (e *PluginError) Error() string {
	var b strings.Builder
	b.WriteString("plugin ")
	b.WriteString(e.Plugin)
	b.WriteString(": ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *PluginError) Unwrap() error { return e.Err }

// Location returns "file:line", "file" or "".
func (e *PluginError) Location() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line)
	}
	return e.File
}

// DependentsError refuses to disable a plugin that enabled plugins depend
// on; it matches ErrHasDependents.
type DependentsError struct {
	Plugin     string
	Dependents []string
}

func (e *DependentsError) Error() string {
	return fmt.Sprintf("%v: %s is needed by %s", ErrHasDependents, e.Plugin, strings.Join(e.Dependents, ", "))
}

func (e *DependentsError) Is(target error) bool { return target == ErrHasDependents }

// StatusError is raised from Lua with error({status = 404, message = "..."}):
// the request answers Status with a JSON body.
type StatusError struct {
	Status  int
	Message string
	Extra   map[string]any // other fields of the error table, sent in the body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("status %d: %s", e.Status, e.Message)
}

// luaErrPos matches the "chunk:line: message" prefix gopher-lua puts on
// runtime errors raised from Lua code.
var luaErrPos = regexp.MustCompile(`^([^\s:][^:]*\.lua):(\d+): `)

// NormalizeLuaError turns any error from running Lua (a gopher-lua ApiError,
// a parse error, a context error) into the engine's error types. It is the
// one place where Lua errors become Go errors.
func NormalizeLuaError(plugin, op string, err error) error {
	if err == nil {
		return nil
	}
	var api *lua.ApiError
	if !errors.As(err, &api) {
		return &PluginError{Plugin: plugin, Op: op, Err: err}
	}
	if tbl, ok := api.Object.(*lua.LTable); ok {
		if se := statusErrorFromTable(tbl); se != nil {
			return se
		}
	}
	msg := api.Object.String()
	if tbl, ok := api.Object.(*lua.LTable); ok {
		msg = tableErrorMessage(tbl, msg)
	}
	if ud, ok := api.Object.(*lua.LUserData); ok {
		if e, ok := ud.Value.(error); ok {
			msg = e.Error()
		}
	}
	// A deadline or cancellation is told by the call's context (withCtxErr),
	// never by the text of a message a plugin may have written itself.
	pe := &PluginError{Plugin: plugin, Op: op, Traceback: api.StackTrace}
	if m := luaErrPos.FindStringSubmatch(msg); m != nil {
		pe.File = m[1]
		pe.Line, _ = strconv.Atoi(m[2])
		msg = msg[len(m[0]):]
	} else if file, line := firstLuaFrame(api.StackTrace); file != "" {
		pe.File, pe.Line = file, line
	}
	pe.Err = errors.New(msg)
	if tbl, ok := api.Object.(*lua.LTable); ok && tbl.RawGetString("class") == lua.LString(vdb.ClassConnection) {
		pe.Err = fmt.Errorf("%w: %s", ErrDatabaseUnavailable, msg)
	}
	return pe
}

// firstLuaFrame finds the innermost Lua source position in a traceback, for
// errors raised from Go functions (whose messages carry no position).
func firstLuaFrame(tb string) (string, int) {
	for _, line := range strings.Split(tb, "\n") {
		line = strings.TrimSpace(line)
		if m := luaErrPos.FindStringSubmatch(line + " "); m != nil {
			n, _ := strconv.Atoi(m[2])
			return m[1], n
		}
	}
	return "", 0
}

// tableErrorMessage reads a readable message from an error table such as a
// vbwd.db error ({message = ..., code = ...}) raised with error(err).
func tableErrorMessage(t *lua.LTable, def string) string {
	m, ok := t.RawGetString("message").(lua.LString)
	if !ok {
		return def
	}
	if code, ok := t.RawGetString("code").(lua.LString); ok {
		return fmt.Sprintf("%s (SQLSTATE %s)", m, code)
	}
	return string(m)
}

// statusErrorFromTable reads error({status = ..., message = ...}). A table
// without a numeric status in 400..599 is not a status error.
func statusErrorFromTable(t *lua.LTable) *StatusError {
	n, ok := t.RawGetString("status").(lua.LNumber)
	if !ok || n < 400 || n > 599 || float64(n) != float64(int(n)) {
		return nil
	}
	se := &StatusError{Status: int(n)}
	if m, ok := t.RawGetString("message").(lua.LString); ok {
		se.Message = string(m)
	}
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok || ks == "status" || ks == "message" {
			return
		}
		if g, err := luaconv.ToGo(v); err == nil {
			if se.Extra == nil {
				se.Extra = map[string]any{}
			}
			se.Extra[string(ks)] = g
		}
	})
	return se
}

// ParseErrorToPlugin converts a gopher-lua parse error into a PluginError.
func ParseErrorToPlugin(plugin, file string, err error) *PluginError {
	pe := &PluginError{Plugin: plugin, File: file, Op: "compile"}
	var perr *parse.Error
	if errors.As(err, &perr) {
		pe.Line = perr.Pos.Line
		pe.Err = fmt.Errorf("syntax error near '%s': %s", perr.Token, strings.TrimSpace(perr.Message))
		if perr.Pos.Line == parse.EOF {
			pe.Line = 0
			pe.Err = fmt.Errorf("syntax error at end of file: %s", strings.TrimSpace(perr.Message))
		}
		return pe
	}
	pe.Err = err
	return pe
}
