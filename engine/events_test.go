package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vbwd-platform/vbwd-engine/engine/bus"
)

// Synchronous events: a route of plugin src emits src.ping; plugins a, b
// and c subscribe, and b's handler raises.

const emitterBody = `
local events = require("vbwd.events")
function P.routes(r)
  r:post("/emit", function(req)
    local s = events.emit("src.ping", req:json())
    return 200, { summary = s, after = "emitter went on" }
  end)
  r:post("/foreign", function(req)
    events.emit("a.ping", {})
    return 200, {}
  end)
end`

// subscriberBody records each event it receives in vbwd.shared: count n
// and the last event table.
const subscriberBody = `
local shared = require("vbwd.shared")
function P.on_enable(ctx)
  ctx:on("src.ping", function(ev)
    shared.incr("n")
    shared.set("last", ev)
  end)
end`

// failingBody raises on line 5 of init.lua (pluginSrc's header is line 1).
const failingBody = `
function P.on_enable(ctx)
  ctx:on("src.ping", function(ev)
    error("boom")
  end)
end`

func emitRoot(t testing.TB) string {
	return writeRoot(t, files{
		"plugins/src/init.lua": pluginSrc("src", "", emitterBody),
		"plugins/a/init.lua":   pluginSrc("a", "", subscriberBody),
		"plugins/b/init.lua":   pluginSrc("b", "", failingBody),
		"plugins/c/init.lua":   pluginSrc("c", "", subscriberBody),
	})
}

// sharedNum reads a number stored in a plugin's vbwd.shared bucket (0 when
// absent).
func sharedNum(te *testEngine, plugin, key string) int {
	v, ok := te.SharedBucket(plugin).Get(key)
	if !ok {
		return 0
	}
	var n int
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

func TestEvents_EmitAcrossPluginsWithAFailingHandler(t *testing.T) {
	te := startEngine(t, emitRoot(t), nil)
	res := te.do(t, "POST", "/api/src/emit", `{"card":"The Fool","n":3}`)
	if res.status != 200 {
		t.Fatalf("emit: %d %s", res.status, res.body)
	}
	sum := res.json["summary"].(map[string]any)
	failed, _ := sum["failed"].([]any)
	if sum["delivered"] != 2.0 || len(failed) != 1 || res.json["after"] != "emitter went on" {
		t.Fatalf("summary %s", res.body)
	}
	f := failed[0].(map[string]any)
	if f["plugin"] != "b" || !strings.Contains(f["error"].(string), "plugins/b/init.lua:5") ||
		!strings.Contains(f["error"].(string), "boom") {
		t.Errorf("failure %v", f)
	}
	if logs := te.logs.String(); !strings.Contains(logs, "event handler failed") || !strings.Contains(logs, "src=plugins/b/init.lua:5") {
		t.Errorf("the failure is not logged with file:line:\n%s", logs)
	}
	for _, p := range []string{"a", "c"} {
		if n := sharedNum(te, p, "n"); n != 1 {
			t.Errorf("%s ran %d times", p, n)
		}
		v, _ := te.SharedBucket(p).Get("last")
		ev, _ := v.(map[string]any)
		if _, err := uuid.Parse(fmt.Sprint(ev["id"])); err != nil || ev["name"] != "src.ping" || ev["source"] != "src" ||
			fmt.Sprint(ev["attempt"]) != "1" || fmt.Sprint(ev["payload"]) != "map[card:The Fool n:3]" {
			t.Errorf("%s got event %v", p, ev)
		}
	}
	a, _ := te.SharedBucket("a").Get("last")
	c, _ := te.SharedBucket("c").Get("last")
	if a.(map[string]any)["id"] != c.(map[string]any)["id"] {
		t.Error("the handlers of one emit saw different ids")
	}
}

func TestEvents_EmitOnlyOwnNames(t *testing.T) {
	te := startEngine(t, emitRoot(t), nil)
	if res := te.do(t, "POST", "/api/src/foreign", ""); res.status != 500 {
		t.Fatalf("emitting a.ping from src: %d %s", res.status, res.body)
	}
	if logs := te.logs.String(); !strings.Contains(logs, "plugin src may only emit and publish its own events") {
		t.Errorf("no clear error in the log:\n%s", logs)
	}
	if n := sharedNum(te, "a", "n"); n != 0 {
		t.Errorf("a's handler ran %d times", n)
	}
}

// After disable and re-enable (and a reload), each handler runs exactly
// once per event: the retired generations' handlers are gone.
func TestEvents_DisableEnableNoDuplicates(t *testing.T) {
	root := emitRoot(t)
	te := startEngine(t, root, nil)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := te.SetEnabled(ctx, "a", false, false); err != nil {
			t.Fatal(err)
		}
		if res := te.do(t, "POST", "/api/src/emit", `{}`); res.json["summary"].(map[string]any)["delivered"] != 1.0 {
			t.Fatalf("with a disabled: %s", res.body)
		}
		if err := te.SetEnabled(ctx, "a", true, false); err != nil {
			t.Fatal(err)
		}
	}
	writeAtomic(t, root+"/plugins/c/init.lua", pluginSrc("c", "", "-- changed\n"+subscriberBody))
	if _, err := te.Reload(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		res := te.do(t, "POST", "/api/src/emit", `{}`)
		if d := res.json["summary"].(map[string]any)["delivered"]; d != 2.0 {
			t.Fatalf("emit %d: delivered %v: %s", i, d, res.body)
		}
		if a, c := sharedNum(te, "a", "n"), sharedNum(te, "c", "n"); a != i || c != i+2 {
			t.Fatalf("after %d emits a ran %d times, c %d times (c also ran twice while a was disabled)", i, a, c)
		}
	}
}

// Emits racing reloads of a subscriber reach the replacing generation
// (regRef.run fails with ErrRetired and the handler is resolved again):
// no emit misses a handler or fails.
func TestEvents_EmitDuringReloads(t *testing.T) {
	root := emitRoot(t)
	te := startEngine(t, root, nil)
	bus := te.bus()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	emits := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				s := bus.Emit(ctx, "src", "src.ping", nil)
				cancel()
				mu.Lock()
				emits++
				if s.Delivered != 2 || len(s.Failed) != 1 {
					bad = append(bad, fmt.Sprintf("%+v", s))
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 5; i++ {
		writeAtomic(t, root+"/plugins/a/init.lua", pluginSrc("a", "", fmt.Sprintf("-- v%d\n", i)+subscriberBody))
		if _, err := te.Reload(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d of %d emits were not delivered to a and c: %v", len(bad), emits, bad[0])
	}
	if n := sharedNum(te, "a", "n"); n != emits {
		t.Errorf("a ran %d times for %d emits", n, emits)
	}
}

// A handler that emits the event it handles ends in failures at the depth
// bound, not in a hang until the deadline.
func TestEvents_EmitCycleIsBounded(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{
		"plugins/loop/init.lua": pluginSrc("loop", "", `
local events = require("vbwd.events")
function P.on_enable(ctx)
  ctx:on("loop.again", function(ev)
    local s = events.emit("loop.again", {})
    if #s.failed > 0 then error("nested: " .. s.failed[1].error) end
  end)
end
function P.routes(r)
  r:post("/go", function() return 200, events.emit("loop.again", {}) end)
end`),
	}), func(o *Options) { o.PoolMax = 16 })
	start := time.Now()
	res := te.do(t, "POST", "/api/loop/go", "")
	if res.status != 200 || res.json["delivered"] != 0.0 || !strings.Contains(res.body, "nested more than 8 deep") {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the cycle took %v", d)
	}
}

// A handler reference taken before a reload (or a disable) still reaches
// the plugin: runHandler resolves it again through the index.
func TestEvents_StaleHandlerIsResolvedAgain(t *testing.T) {
	root := emitRoot(t)
	te := startEngine(t, root, nil)
	ctx := context.Background()
	staleA, staleC := handlerOf(te, "src.ping", "a"), handlerOf(te, "src.ping", "c")
	writeAtomic(t, root+"/plugins/a/init.lua", pluginSrc("a", "", "-- v2\n"+subscriberBody))
	if _, err := te.Reload(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := te.SetEnabled(ctx, "c", false, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the old generations retired", func() bool {
		return staleA.Gen.Retired() && staleC.Gen.Retired()
	})
	ev := bus.NewEvent(uuid.NewString(), "src.ping", "src", 1, nil)
	if handled, err := te.runHandler(ctx, staleA, ev); !handled || err != nil {
		t.Errorf("a after a reload: handled %v, err %v", handled, err)
	}
	if n := sharedNum(te, "a", "n"); n != 1 {
		t.Errorf("a's new generation ran %d times", n)
	}
	if handled, err := te.runHandler(ctx, staleC, ev); handled || err != nil {
		t.Errorf("c after a disable: handled %v, err %v", handled, err)
	}
	if n := sharedNum(te, "c", "n"); n != 0 {
		t.Errorf("disabled c ran %d times", n)
	}
}

// handlerOf finds plugin's serving handler of the event name.
func handlerOf(te *testEngine, name, plugin string) regRef {
	for _, ref := range te.index.Load().Events[name] {
		if ref.Gen.Plugin == plugin {
			return ref
		}
	}
	return regRef{}
}

// Without a database publish returns nil and an error; emit still works.
func TestEvents_PublishWithoutDatabase(t *testing.T) {
	te := startEngine(t, writeRoot(t, files{"plugins/src/init.lua": pluginSrc("src", "", `
local events = require("vbwd.events")
function P.routes(r)
  r:post("/publish", function()
    local id, err = events.publish("src.saved", { n = 1 })
    return 200, { id = id, err = err, emitted = events.emit("src.saved", {}).delivered }
  end)
end`)}), nil)
	res := te.do(t, "POST", "/api/src/publish", "")
	if res.status != 200 || res.json["id"] != nil || res.json["emitted"] != 0.0 ||
		res.json["err"] != "vbwd.events: publish src.saved: no database configured: durable events need one" {
		t.Errorf("%d %s", res.status, res.body)
	}
}
