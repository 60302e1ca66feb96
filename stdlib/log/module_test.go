package log

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

// recorder is a slog.Handler keeping records in memory.
type recorder struct {
	mu      sync.Mutex
	level   slog.Level
	records []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// sink is a test module exposing the records to Lua as
// sink.take() -> {{level=, msg=, attrs={...}, keys={...}}, ...}, emptying them.
type sink struct{ rec *recorder }

func (s sink) Name() string { return "sink" }

func (s sink) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{"take": s.take}))
	return 1
}

func (s sink) take(L *lua.LState) int {
	s.rec.mu.Lock()
	records := s.rec.records
	s.rec.records = nil
	s.rec.mu.Unlock()
	out := make([]any, 0, len(records))
	for _, rec := range records {
		attrs := map[string]any{}
		keys := []any{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.Any()
			keys = append(keys, a.Key)
			return true
		})
		out = append(out, map[string]any{"level": rec.Level.String(), "msg": rec.Message, "attrs": attrs, "keys": keys})
	}
	L.Push(luaconv.FromGo(L, out))
	return 1
}

func TestLua(t *testing.T) {
	rec := &recorder{level: slog.LevelDebug}
	luatest.Run(t, "testdata", New(slog.New(rec)), sink{rec})
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(nil), "debug", "error", "info", "warn")
}

// With the level disabled, nothing is converted (a field that would fail to
// convert cannot matter) and nothing is logged.
func TestLevelDisabled(t *testing.T) {
	rec := &recorder{level: slog.LevelInfo}
	L := luatest.NewState(t, New(slog.New(rec)))
	if err := L.DoString(`local log = require("vbwd.log"); log.debug("hidden", {x = 1}); log.info("shown")`); err != nil {
		t.Fatal(err)
	}
	if len(rec.records) != 1 || rec.records[0].Message != "shown" {
		t.Errorf("records = %v", rec.records)
	}
}

// The logger's own attributes (plugin, generation) are kept, and a JSON
// handler renders nested fields.
func TestJSONOutput(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil)).With("plugin", "tarot", "generation", 3)
	L := luatest.NewState(t, New(logger))
	if err := L.DoString(`require("vbwd.log").warn("slow", {ms = 830, where = {"db", 1}})`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"level":"WARN"`, `"msg":"slow"`, `"plugin":"tarot"`, `"generation":3`, `"src":"<string>:1"`, `"ms":830`, `"where":["db",1]`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output %s lacks %s", buf.String(), want)
		}
	}
}

func TestNilLogger(t *testing.T) {
	L := luatest.NewState(t, New(nil))
	if err := L.DoString(`require("vbwd.log").error("dropped", {a = 1})`); err != nil {
		t.Fatal(err)
	}
}
