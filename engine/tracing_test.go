package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const tracedProvider = `
function P.on_enable(ctx)
  ctx:provide("svc.math", { double = function(n) return n * 2 end })
  ctx:on("app.done", function(ev) end)
end`

const tracedApp = `
local di = require("vbwd.di")
local events = require("vbwd.events")
function P.routes(r)
  r:get("/work", function()
    local n = di.get("svc.math").double(21)
    events.emit("app.done", { n = n })
    return 200, { n = n }
  end)
  r:get("/boom", function() error("kaput") end)
end`

// TestTracing_Spans: with a tracer provider, a request is a server span
// named after its route, its Lua call a child, and the DI call, the emit and
// the handler's delivery children of the call; a 500 answer and the access
// log carry the trace id. Without one, neither does.
func TestTracing_Spans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	root := writeRoot(t, files{
		"plugins/svc/init.lua": pluginSrc("svc", "", tracedProvider),
		"plugins/app/init.lua": pluginSrc("app", `, dependencies = { "svc" }`, tracedApp),
	})
	access := &logBuf{}
	te := startEngine(t, root, func(o *Options) { o.TracerProvider, o.AccessLog = tp, access })
	if res := te.do(t, "GET", "/api/app/work", ""); res.status != 200 {
		t.Fatalf("work: %d %s", res.status, res.body)
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, sp := range rec.Ended() {
		byName[sp.Name()] = sp
	}
	server, call := byName["GET /api/app/work"], byName["plugin app"]
	if server == nil || call == nil {
		t.Fatalf("spans: %v", names(rec.Ended()))
	}
	childOf := func(name string, parent sdktrace.ReadOnlySpan) {
		t.Helper()
		sp := byName[name]
		if sp == nil || sp.Parent().SpanID() != parent.SpanContext().SpanID() || sp.SpanContext().TraceID() != server.SpanContext().TraceID() {
			t.Errorf("%s is not a child of %s: %v", name, parent.Name(), names(rec.Ended()))
		}
	}
	childOf("plugin app", server)
	childOf("di svc.math.double", call)
	childOf("event emit app.done", call)
	childOf("event deliver app.done", byName["event emit app.done"])
	if !strings.Contains(access.String(), "trace_id="+server.SpanContext().TraceID().String()) {
		t.Errorf("the access log lacks the trace id:\n%s", access.String())
	}
	res := te.do(t, "GET", "/api/app/boom", "")
	id, _ := res.json["trace_id"].(string)
	if res.status != 500 || len(id) != 32 || res.json["request_id"] == nil {
		t.Fatalf("boom: %d %v, want request_id and trace_id", res.status, res.json)
	}
	for _, sp := range rec.Ended() {
		if sp.SpanContext().TraceID().String() == id && sp.Name() == "GET /api/app/boom" && sp.Status().Code != codes.Error {
			t.Errorf("the 500's request span is not an error: %v", sp.Status())
		}
	}
	plain := startEngine(t, root, nil)
	if res := plain.do(t, "GET", "/api/app/boom", ""); res.status != 500 || res.json["trace_id"] != nil {
		t.Errorf("untraced: %d %v", res.status, res.json)
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, sp.Name()+"<-"+sp.Parent().SpanID().String())
	}
	return out
}

// TestTracing_DurableDelivery: publishing is a span of the call; the
// delivery, later on a worker, is the root of a trace of its own.
func TestTracing_DurableDelivery(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	_, url := newDB(t)
	root := writeRoot(t, files{
		"plugins/svc/init.lua": pluginSrc("svc", "", `function P.on_enable(ctx) ctx:on("app.saved", function(ev) end) end`),
		"plugins/app/init.lua": pluginSrc("app", "", `
local events = require("vbwd.events")
function P.routes(r)
  r:post("/save", function() return 200, { id = assert(events.publish("app.saved", { n = 1 })) } end)
end`),
	})
	te := startEngine(t, root, func(o *Options) { o.TracerProvider, o.DB = tp, openPool(t, url) })
	if res := te.do(t, "POST", "/api/app/save", ""); res.status != 200 {
		t.Fatalf("save: %d %s", res.status, res.body)
	}
	var publish, deliver sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(10 * time.Second); deliver == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery span within 10s: %v", names(rec.Ended()))
		}
		for _, sp := range rec.Ended() {
			switch sp.Name() {
			case "event publish app.saved":
				publish = sp
			case "event deliver app.saved":
				deliver = sp
			}
		}
	}
	if publish == nil || publish.Parent().SpanID().String() == "0000000000000000" {
		t.Fatalf("publish span: %v", names(rec.Ended()))
	}
	if deliver.Parent().IsValid() || deliver.SpanKind() != trace.SpanKindConsumer || deliver.SpanContext().TraceID() == publish.SpanContext().TraceID() {
		t.Errorf("delivery span: parent %v, kind %v: want the consumer root of its own trace", deliver.Parent(), deliver.SpanKind())
	}
}
