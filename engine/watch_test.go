package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func watchRoot(t *testing.T) string {
	route := `function P.routes(r) r:get("/", function() return 200, { v = V } end) end`
	return writeRoot(t, files{
		"plugins/dbg/init.lua":    pluginSrc("dbg", "", "local V = 1\n"+route),
		"plugins/dbg/config.json": `{"debug_mode": true}`,
		"plugins/calm/init.lua":   pluginSrc("calm", "", "local V = 1\n"+route),
	})
}

func TestWatch_All(t *testing.T) {
	root := watchRoot(t)
	te := startEngine(t, root, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go te.Watch(ctx, true)
	time.Sleep(100 * time.Millisecond) // let the watcher register
	file := filepath.Join(root, "plugins/calm/init.lua")
	src, _ := os.ReadFile(file)
	writeAtomic(t, file, strings.Replace(string(src), "local V = 1", "local V = 2", 1))
	eventually(t, "calm to be reloaded", func() bool { return te.do(t, "GET", "/api/calm/", "").json["v"] == float64(2) })
	// A broken save keeps the old generation serving.
	writeAtomic(t, file, "local P = {\n  name = 'calm'\n  oops\n}\nreturn P")
	eventually(t, "the failed reload to be logged", func() bool {
		return strings.Contains(te.logs.String(), "watch: reload failed") && strings.Contains(te.logs.String(), "plugins/calm/init.lua:3")
	})
	if r := te.do(t, "GET", "/api/calm/", ""); r.json["v"] != float64(2) {
		t.Errorf("after a broken save: %d %s", r.status, r.body)
	}
}

func TestWatch_DebugModeOnly(t *testing.T) {
	root := watchRoot(t)
	te := startEngine(t, root, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go te.Watch(ctx, false)
	time.Sleep(100 * time.Millisecond)
	for _, p := range []string{"calm", "dbg"} { // calm first: by the time dbg reloads, calm had its chance
		file := filepath.Join(root, "plugins", p, "init.lua")
		src, _ := os.ReadFile(file)
		writeAtomic(t, file, strings.Replace(string(src), "local V = 1", "local V = 2", 1))
	}
	eventually(t, "dbg to be reloaded", func() bool { return te.do(t, "GET", "/api/dbg/", "").json["v"] == float64(2) })
	time.Sleep(2 * watchDebounce)
	if r := te.do(t, "GET", "/api/calm/", ""); r.json["v"] != float64(1) {
		t.Errorf("a plugin without debug_mode was reloaded: %s", r.body)
	}
}
