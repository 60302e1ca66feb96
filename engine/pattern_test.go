package engine

import (
	"strings"
	"sync"
	"testing"
	"time"
)

const backtrackPlugin = `function P.routes(r)
  r:get("/find/{k}", { timeout = 1 }, function(req)
    local k = tonumber(req.params.k)
    return 200, { at = string.find(string.rep("a", k), string.rep("a?", k) .. string.rep("a", k) .. "b") }
  end)
  r:get("/gsub/{k}", { timeout = 1 }, function(req)
    local k = tonumber(req.params.k)
    local s = string.rep(string.rep("a", k) .. "c", 4)
    return 200, { s = (s:gsub(string.rep("a?", k) .. string.rep("a", k) .. "b", "x")) }
  end)
  r:get("/ok", function() return 200, { ok = true } end)
end`

// TestPatternBacktrackingCut: the backtracking pattern of issue 10 (10 s at
// k = 24 against a 3 s deadline, ×5.5 per +2 of k) is cut within the
// deadline + 100 ms; four at once (two per core here) are all cut, and the
// plugin's other routes keep answering.
func TestPatternBacktrackingCut(t *testing.T) {
	const deadline, slack = time.Second, 100 * time.Millisecond
	root := writeRoot(t, files{"plugins/pat/init.lua": pluginSrc("pat", "", backtrackPlugin)})
	te := startEngine(t, root, nil)
	start := time.Now()
	if r := te.do(t, "GET", "/api/pat/find/28", ""); r.status != 504 {
		t.Errorf("status %d, want 504: %s", r.status, r.body)
	}
	if took := time.Since(start); took > deadline+slack {
		t.Errorf("cut after %v, deadline %v", took, deadline)
	} else {
		t.Logf("k = 28 cut after %v (deadline %v)", took, deadline)
	}
	var wg sync.WaitGroup
	for i, route := range []string{"find/24", "find/28", "gsub/26", "find/26"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			r := te.do(t, "GET", "/api/pat/"+route, "")
			took := time.Since(start)
			if r.status != 504 {
				t.Errorf("%d %s: status %d, want 504: %s", i, route, r.status, r.body)
			}
			// Four CPU-bound calls on two cores: each gets half a core, so
			// the bound here is looser than for one call.
			if took > deadline+10*slack {
				t.Errorf("%s: cut after %v, deadline %v", route, took, deadline)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		if r := te.do(t, "GET", "/api/pat/ok", ""); r.status != 200 {
			t.Fatalf("other route: %d %s", r.status, r.body)
		}
	}
}

// TestPatternBacktrackingAtLoad: a plugin whose init.lua loops in a pattern
// fails to load with a clear error instead of blocking the start; the other
// plugins serve.
func TestPatternBacktrackingAtLoad(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/stuck/init.lua": `local k = 30
local at = string.find(string.rep("a", k), string.rep("a?", k) .. string.rep("a", k) .. "b")
return { name = "stuck", version = "1.0.0" }`,
		"plugins/other/init.lua": pluginSrc("other", "", `function P.routes(r) r:get("/ping", function() return 200, { pong = true } end) end`),
	})
	start := time.Now()
	te := startEngine(t, root, func(o *Options) { o.RequestTimeout = time.Second })
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("start took %v with a 1 s load deadline", took)
	}
	st := te.status(t, "stuck")
	if st.State != StateFailed || !strings.Contains(st.Error, "deadline") {
		t.Errorf("stuck: %s %q, want failed with a deadline error", st.State, st.Error)
	}
	if r := te.do(t, "GET", "/api/other/ping", ""); r.status != 200 {
		t.Errorf("other plugin: %d %s", r.status, r.body)
	}
}
