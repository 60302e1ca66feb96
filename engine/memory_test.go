package engine

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
)

// bombPlugin holds one route per memory bomb of issue 10, each of which
// grew the process by gigabytes or built a string past the sandbox cap.
const bombPlugin = `
local MiB = 1024 * 1024
function P.routes(r)
  r:get("/keep", function()          -- a loop keeping 16 MiB strings
    local t = {}
    for i = 1, 1000 do t[i] = string.rep("x", 16 * MiB - i) end
    return 200, { n = #t }
  end)
  r:get("/keep-pcall", function()    -- the same, every allocation under pcall
    local t = {}
    for i = 1, 1000 do pcall(function() t[#t + 1] = string.rep("y", 16 * MiB - i) end) end
    return 200, { n = #t }
  end)
  r:get("/coroutines", function()    -- nested coroutines
    local function nest(n)
      local co = coroutine.create(function() return nest(n + 1) end)
      local ok, v = coroutine.resume(co)
      if not ok then error(v, 0) end
      return v
    end
    return 200, { n = nest(1) }
  end)
  r:get("/array", function()         -- table growth, array part
    local t, i = {}, 0
    while true do i = i + 1; t[i] = i end
  end)
  r:get("/hash", function()          -- table growth, hash part
    local t, i = {}, 0
    while true do i = i + 1; t[i * 0.5] = true end
  end)
  r:get("/sparse", function()        -- one assignment growing the array by a gigabyte
    local t = {}
    t[60000000] = 1
    return 200, { n = #t }
  end)
  r:get("/double", function()        -- s = s .. s
    local s = "x"
    while true do s = s .. s end
  end)
  r:get("/separator", function()     -- table.concat, long separator, number elements
    local t = {}
    for i = 1, 1000 do t[i] = i end
    return 200, { n = #table.concat(t, string.rep("-", MiB)) }
  end)
  r:get("/format", function()        -- string.format("%s%s%s", a, a, a)
    local a = string.rep("a", 15 * MiB)
    return 200, { n = #string.format("%s%s%s", a, a, a) }
  end)
  r:get("/gsub", function()          -- string.gsub growing its subject
    local a = string.rep("a", MiB)
    return 200, { n = #a:gsub("a", string.rep("a", 64)) }
  end)
  r:get("/response", function()      -- a 512 MB response body
    local chunk, t = string.rep("z", MiB), {}
    for i = 1, 512 do t[i] = chunk end
    return 200, t
  end)
  r:get("/ok", function() return 200, { ok = true } end)
end`

// vmRSS reads the process's resident size from /proc/self/status.
func vmRSS(t testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// processBytes is the process's memory: VmRSS, or under the race detector
// (whose shadow memory VmRSS counts) the Go runtime's figure, which the
// watchdog watches.
func processBytes(t testing.TB) int64 {
	if raceEnabled {
		return luavm.NewProcessMemory().Read()
	}
	return vmRSS(t)
}

// peakRSS samples processBytes every millisecond until stop is called,
// which returns the highest value seen.
func peakRSS(t testing.TB) (stop func() int64) {
	var peak atomic.Int64
	peak.Store(processBytes(t))
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
			}
			if v := processBytes(t); v > peak.Load() {
				peak.Store(v)
			}
		}
	}()
	return func() int64 { close(done); <-finished; return peak.Load() }
}

// TestMemoryBombs: every bomb ends with a clear error naming the limit and
// the line, the process stays under its ceiling, the state is discarded, and
// another plugin (and the bomb's own other route) keeps answering 200.
func TestMemoryBombs(t *testing.T) {
	const ceiling = 1 << 30
	root := writeRoot(t, files{
		"plugins/bomb/init.lua":  pluginSrc("bomb", ", memory_limit_mb = 16", bombPlugin),
		"plugins/other/init.lua": pluginSrc("other", "", `function P.routes(r) r:get("/ping", function() return 200, { pong = true } end) end`),
	})
	te := startEngine(t, root, func(o *Options) {
		o.MemoryCeiling = ceiling
		o.RequestTimeout = time.Minute
		o.MaxResponseBytes = 8 << 20
	})
	stop := peakRSS(t)
	for _, c := range []struct{ route, want string }{
		{"keep", "memory budget of 16 MiB exceeded"},
		{"keep-pcall", "memory budget of 16 MiB exceeded"},
		{"coroutines", "memory budget of 16 MiB exceeded"},
		{"array", "memory budget of 16 MiB exceeded"},
		{"hash", "memory budget of 16 MiB exceeded"},
		{"sparse", "memory budget of 16 MiB exceeded"},
		{"double", "memory budget of 16 MiB exceeded"}, // 1+2+...+16 MiB; the 16 MiB cap of ".." is tested in third_party
		{"separator", "exceeds the sandbox limit of 16777216 bytes\" src=plugins/bomb/init.lua:44"},
		{"format", "string.format: result of"},
		{"gsub", "string.gsub: result exceeds the sandbox limit"},
		{"response", "response body too large"},
	} {
		t.Run(c.route, func(t *testing.T) {
			discards := te.status(t, "bomb").Pool.Discards
			r := te.do(t, "GET", "/api/bomb/"+c.route, "")
			if r.status != 500 { // 504 would mean the deadline, not the limit, ended it
				t.Fatalf("status %d, want 500: %s", r.status, r.body)
			}
			logs := te.logs.String()
			i := strings.LastIndex(logs, c.want)
			if i < 0 {
				t.Fatalf("log does not say %q", c.want)
			}
			line := logs[strings.LastIndex(logs[:i], "\n")+1:]
			line = line[:strings.IndexByte(line, '\n')]
			if !strings.Contains(line, "plugin=bomb") || (c.route != "response" && !strings.Contains(line, "plugins/bomb/init.lua:")) {
				t.Errorf("log line does not name the plugin and file:line: %s", line)
			}
			if strings.Contains(c.want, "memory budget") && te.status(t, "bomb").Pool.Discards == discards {
				t.Errorf("the state over its budget was put back in the pool")
			}
			if r := te.do(t, "GET", "/api/other/ping", ""); r.status != 200 {
				t.Errorf("other plugin: %d %s", r.status, r.body)
			}
			if r := te.do(t, "GET", "/api/bomb/ok", ""); r.status != 200 {
				t.Errorf("bomb's other route: %d %s", r.status, r.body)
			}
		})
	}
	if peak := stop(); peak >= ceiling {
		t.Errorf("peak RSS %d MiB, ceiling %d MiB", peak>>20, int64(ceiling)>>20)
	} else {
		t.Logf("peak RSS %d MiB (ceiling %d MiB)", peak>>20, int64(ceiling)>>20)
	}
}

// TestMemoryBudgetPerPlugin: memory_limit_mb in the manifest sets the
// budget; a bad value fails the plugin with a message naming the field.
func TestMemoryBudgetPerPlugin(t *testing.T) {
	alloc := `function P.routes(r)
  r:get("/alloc/{mb}", function(req)
    local t = {}
    for i = 1, tonumber(req.params.mb) do t[i] = string.rep("x", 1024 * 1024 - i) end
    return 200, { n = #t }
  end)
end`
	root := writeRoot(t, files{
		"plugins/small/init.lua": pluginSrc("small", ", memory_limit_mb = 8", alloc),
		"plugins/big/init.lua":   pluginSrc("big", ", memory_limit_mb = 128", alloc),
		"plugins/bad/init.lua":   pluginSrc("bad", ", memory_limit_mb = 0.5", alloc),
		"plugins/dflt/init.lua":  pluginSrc("dflt", "", alloc),
		"plugins/fat/init.lua": pluginSrc("fat", ", memory_limit_mb = 8", `
function P.initialize()
  P.cache = {}
  for i = 1, 20 do P.cache[i] = string.rep("c", 1024 * 1024 - i) end
end`),
	})
	te := startEngine(t, root, func(o *Options) { o.RequestTimeout = 20 * time.Second })
	if r := te.do(t, "GET", "/api/small/alloc/6", ""); r.status != 200 {
		t.Errorf("small, 6 MiB: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/small/alloc/12", ""); r.status != 500 || !strings.Contains(te.logs.String(), "memory budget of 8 MiB exceeded") {
		t.Errorf("small, 12 MiB: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/dflt/alloc/70", ""); r.status != 500 || !strings.Contains(te.logs.String(), "memory budget of 64 MiB exceeded") {
		t.Errorf("default budget, 70 MiB: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/big/alloc/80", ""); r.status != 200 {
		t.Errorf("big, 80 MiB: %d %s", r.status, r.body)
	}
	if st := te.status(t, "bad"); st.State != StateFailed || !strings.Contains(st.Error, "memory_limit_mb must be a whole number") {
		t.Errorf("bad: %s %q", st.State, st.Error)
	}
	if st := te.status(t, "fat"); st.State != StateFailed || !strings.Contains(st.Error, "memory budget of 8 MiB exceeded") {
		t.Errorf("fat (20 MiB at initialize, budget 8 MiB): %s %q", st.State, st.Error)
	}
}

// TestMemoryCeilingWatchdog: a plugin allowed a large budget still cannot
// take the process past its ceiling: the watchdog cancels the largest call
// with an error naming the ceiling, and other calls go on.
func TestMemoryCeilingWatchdog(t *testing.T) {
	base := processBytes(t)
	ceiling := base + 384<<20
	root := writeRoot(t, files{
		"plugins/hog/init.lua": pluginSrc("hog", ", memory_limit_mb = 4096", `function P.routes(r)
  r:get("/hog", function()
    local t = {}
    for i = 1, 4096 do t[i] = string.rep("h", 16 * 1024 * 1024 - i) end
    return 200, { n = #t }
  end)
end`),
		"plugins/other/init.lua": pluginSrc("other", "", `function P.routes(r) r:get("/ping", function() return 200, { pong = true } end) end`),
	})
	te := startEngine(t, root, func(o *Options) { o.MemoryCeiling = ceiling; o.RequestTimeout = time.Minute })
	stop := peakRSS(t)
	var wg sync.WaitGroup
	wg.Add(1)
	var hog result
	go func() { defer wg.Done(); hog = te.do(t, "GET", "/api/hog/hog", "") }()
	for i := 0; i < 20; i++ {
		if r := te.do(t, "GET", "/api/other/ping", ""); r.status != 200 {
			t.Errorf("other plugin: %d %s", r.status, r.body)
		}
	}
	wg.Wait()
	peak := stop()
	if hog.status != 500 {
		t.Fatalf("hog: %d %s", hog.status, hog.body)
	}
	if !strings.Contains(te.logs.String(), "process memory ceiling of") || !strings.Contains(te.logs.String(), `msg="memory ceiling reached: call cancelled" plugin=hog`) {
		t.Errorf("the log does not name the ceiling and the cancelled plugin")
	}
	if peak >= ceiling {
		t.Errorf("peak RSS %d MiB, ceiling %d MiB", peak>>20, ceiling>>20)
	}
	t.Logf("peak RSS %d MiB, ceiling %d MiB (base %d MiB)", peak>>20, ceiling>>20, base>>20)
}

// TestWatchdogStops: the watchdog goroutine ends with the engine.
func TestWatchdogStops(t *testing.T) {
	running := func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "StartWatchdog.func")
	}
	if running() {
		t.Skip("a watchdog of another test is running")
	}
	root := writeRoot(t, files{"plugins/other/init.lua": pluginSrc("other", "", "")})
	e, err := New(Options{Root: root, Logger: slog.New(slog.DiscardHandler), MemoryCeiling: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !running() {
		t.Fatal("no watchdog running")
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for running() {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog outlived the engine")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
