package testrunner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	vtest "github.com/vbwd-platform/vbwd-engine/stdlib/test"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// file runs one test file on a fresh clone of the template database.
func (r *pluginRun) file(ctx context.Context, file string) error {
	name := dbName(r.plugin, "f")
	if err := createDB(ctx, r.o.DB, name, r.tpl); err != nil {
		return err
	}
	defer dropDB(r.o.DB, name)
	pool, err := poolFor(ctx, r.o.DB, name)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := r.resetConfig(); err != nil {
		return err
	}
	h := &harness{secret: randomSecret(), plugin: r.plugin, logs: &logCapture{}}
	mod := vtest.New(h)
	// No delivery workers and no scheduler loop: durable events are delivered
	// by t.deliver() and t.time.advance, jobs run on t.time.advance,
	// deterministically. Plugin output (print, vbwd.log, handler errors)
	// is captured per test and shown for a failure and with -v.
	e, err := engine.New(engine.Options{Root: r.root, Logger: h.logs.logger(r.o.Logger), DB: pool, Enabled: r.needed,
		PoolMin: 1, PoolMax: 8, JWTSecret: h.secret, Clock: h.now, EventHook: h.seen,
		HTTPTransport: h, Events: engine.EventOptions{Workers: -1}, ManualJobs: true, DrainTimeout: r.o.FileTimeout,
		IssuerKey:    newIssuerKey(),
		ExtraModules: []hostapi.Factory{func(hostapi.Plugin) hostapi.Module { return mod }}})
	if err != nil {
		return err
	}
	h.e = e
	if err := e.Start(ctx); err != nil {
		return err
	}
	defer e.Shutdown(context.Background())
	if st, _ := e.Plugin(r.plugin); st.State != engine.StateEnabled {
		r.fail(file, "", fmt.Sprintf("the plugin does not start: %s", st.Error))
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, r.o.FileTimeout)
	defer cancel()
	start := time.Now()
	passed, failed := r.sum.Passed, r.sum.Failed
	err = e.RunLua(fctx, r.plugin, func(L *lua.LState) error { return r.runTests(fctx, L, file, h) })
	if err != nil {
		r.fail(file, "", engine.LuaError(fctx, r.plugin, "test file", err).Error())
	}
	if r.sum.Failed == failed {
		fmt.Fprintf(r.o.Out, "ok  %s  %d tests (%s)\n", rel(r.o.Root, file), r.sum.Passed-passed, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// runTests loads the file (which declares tests with test(...)) and runs
// each declared test in its own protected call.
func (r *pluginRun) runTests(ctx context.Context, L *lua.LState, file string, h *harness) error {
	chunk := rel(r.o.Root, file)
	code, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	stmts, err := parse.Parse(strings.NewReader(string(code)), chunk)
	if err != nil {
		r.fail(file, "", err.Error())
		return nil
	}
	proto, err := lua.Compile(stmts, chunk)
	if err != nil {
		return err
	}
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 0, nil); err != nil {
		r.fail(file, "", luaMessage(err))
		return nil
	}
	L.Push(L.GetGlobal("require"))
	L.Push(lua.LString("vbwd.test"))
	if err := L.PCall(1, 1, nil); err != nil {
		return err
	}
	mod := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	L.Push(mod.RawGetString("_tests"))
	L.Call(0, 1)
	tests := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	for i := 1; i <= tests.Len(); i++ {
		t := tests.RawGetInt(i).(*lua.LTable)
		name := t.RawGetString("name").String()
		if r.filter != nil && !r.filter.MatchString(name) {
			continue
		}
		h.resetEvents()
		start := time.Now()
		L.Push(t.RawGetString("fn"))
		err := L.PCall(0, 0, nil)
		if ctx.Err() != nil {
			r.fail(file, name, "the test file exceeded its deadline")
			return nil
		}
		if err != nil {
			r.fail(file, name, luaMessage(err))
			r.output(h)
			continue
		}
		r.sum.Passed++
		if r.o.Verbose {
			fmt.Fprintf(r.o.Out, "--- PASS: %s: %s (%s)\n", chunk, name, time.Since(start).Round(time.Millisecond))
			r.output(h)
		}
	}
	return nil
}

// luaMessage is an error's message with the position gopher-lua put first,
// and, for errors that are not assertion failures, a traceback hint.
func luaMessage(err error) string {
	var api *lua.ApiError
	if errors.As(err, &api) {
		if t, ok := api.Object.(*lua.LTable); ok {
			if m, ok := t.RawGetString("message").(lua.LString); ok {
				return fmt.Sprintf("error %v: %s", t.RawGetString("status"), m)
			}
		}
		return api.Object.String()
	}
	return err.Error()
}

// harness is what vbwd.test drives: the engine in-process, a test clock
// and the captured events.
type harness struct {
	e      *engine.Engine
	plugin string // under test
	secret string
	logs   *logCapture
	stubs  []httpStub
	calls  []map[string]any
	mu     sync.Mutex
	fixed  bool
	base   time.Time
	offset time.Duration
	events []map[string]any
}

func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fixed {
		return h.base.Add(h.offset)
	}
	return time.Now().Add(h.offset)
}

func (h *harness) Now() time.Time { return h.now() }

func (h *harness) SetNow(t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fixed, h.base, h.offset = true, t, 0
}

// Advance moves the test clock, then lets what became due happen, as it
// would while that time passed: the jobs whose interval passed run, and due
// deliveries (retries whose backoff passed) are made.
func (h *harness) Advance(L *lua.LState, d time.Duration) error {
	h.mu.Lock()
	h.offset += d
	h.mu.Unlock()
	h.e.AdvanceJobs(d)
	_, err := h.e.DeliverPending(L.Context(), h.now())
	return err
}

func (h *harness) Request(L *lua.LState, method, path string, body []byte, headers map[string]string, as *hostapi.User) (int, http.Header, []byte) {
	req := httptest.NewRequestWithContext(L.Context(), method, path, strings.NewReader(string(body)))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if as != nil {
		tok, err := auth.Mint(h.secret, as.ID, as.Roles, time.Hour, time.Now())
		if err != nil {
			L.RaiseError("minting a token: %v", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	h.e.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func (h *harness) Populate(L *lua.LState) error {
	_, err := h.e.Populate(L.Context())
	return err
}

func (h *harness) Events(name string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, ev := range h.events {
		if ev["name"] == name {
			out = append(out, ev)
		}
	}
	return out
}

func (h *harness) seen(ev engine.EventSeen) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, map[string]any{"id": ev.ID, "name": ev.Name, "source": ev.Source,
		"payload": ev.Payload, "durable": ev.Durable})
}

// resetEvents starts a test: no events seen, no stubs, no calls, no output.
func (h *harness) resetEvents() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events, h.stubs, h.calls = nil, nil, nil
	h.logs.reset()
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
