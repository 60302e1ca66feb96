package log

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// Module is the vbwd.log module bound to one plugin generation's logger.
type Module struct {
	logger *slog.Logger
}

// New returns the module logging to logger, which the engine has already
// tagged with the plugin and generation. A nil logger discards everything.
func New(logger *slog.Logger) *Module {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Module{logger: logger}
}

// Name returns "log".
func (m *Module) Name() string { return "log" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 4), m.exports()))
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"debug": m.logFunc(slog.LevelDebug),
		"info":  m.logFunc(slog.LevelInfo),
		"warn":  m.logFunc(slog.LevelWarn),
		"error": m.logFunc(slog.LevelError),
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "debug", Sig: "debug(msg: string, fields?: table)", Doc: "log msg at debug level with the key/value pairs of fields"},
		{Name: "info", Sig: "info(msg: string, fields?: table)", Doc: "log msg at info level with the key/value pairs of fields"},
		{Name: "warn", Sig: "warn(msg: string, fields?: table)", Doc: "log msg at warn level with the key/value pairs of fields"},
		{Name: "error", Sig: "error(msg: string, fields?: table)", Doc: "log msg at error level with the key/value pairs of fields"},
	}
}

// logFunc returns the Lua function log.<level>(msg, fields?). Nothing is
// converted when the logger does not log the level.
func (m *Module) logFunc(level slog.Level) lua.LGFunction {
	return func(L *lua.LState) int {
		msg := L.CheckString(1)
		fields := L.OptTable(2, nil)
		ctx := L.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if !m.logger.Enabled(ctx, level) {
			return 0
		}
		attrs := make([]slog.Attr, 0, 8)
		if src := caller(L); src != "" {
			attrs = append(attrs, slog.String("src", src))
		}
		if r := hostapi.RequestOf(L); r != nil {
			attrs = append(attrs, slog.String("request_id", r.ID))
		}
		if fields != nil {
			attrs = appendFields(attrs, fields)
		}
		m.logger.LogAttrs(ctx, level, msg, attrs...)
		return 0
	}
}

// caller returns the file:line of the Lua function calling the module
// function, or "" when the caller is not a Lua function.
func caller(L *lua.LState) string {
	dbg, ok := L.GetStack(1)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil || dbg.Source == "" || dbg.CurrentLine < 0 {
		return ""
	}
	return dbg.Source + ":" + strconv.Itoa(dbg.CurrentLine)
}

// appendFields appends the entries of fields, sorted by key. Keys are
// strings or numbers (others are skipped); values are converted to Go data,
// or logged as their tostring form when they are not data.
func appendFields(attrs []slog.Attr, fields *lua.LTable) []slog.Attr {
	start := len(attrs)
	fields.ForEach(func(k, v lua.LValue) {
		var key string
		switch k := k.(type) {
		case lua.LString:
			key = string(k)
		case lua.LNumber:
			key = k.String()
		default:
			return
		}
		val, err := luaconv.ToGo(v)
		if err != nil {
			val = v.String()
		}
		attrs = append(attrs, slog.Any(key, val))
	})
	slices.SortFunc(attrs[start:], func(a, b slog.Attr) int { return strings.Compare(a.Key, b.Key) })
	return attrs
}

var _ hostapi.Documented = (*Module)(nil)
