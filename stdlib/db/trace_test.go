package db

import (
	"context"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

// TestTrace_QuerySpans: under a traced call every query is a child span
// carrying its SQL (never its parameters); a failing query's span is an
// error; an untraced call records nothing.
func TestTrace_QuerySpans(t *testing.T) {
	pool := newPool(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	L := luatest.NewState(t, New(pool, Options{Plugin: "notes"}))
	if err := L.DoString(`
		local db = require("vbwd.db")
		function work()
			assert(db.query_one("select $1::text as secret", "hunter2").secret == "hunter2")
			assert(db.exec("select 1") == 1)
			local rows, err = db.query("select * from no_such_table")
			assert(rows == nil and err)
		end`); err != nil {
		t.Fatal(err)
	}
	L.SetContext(context.Background())
	if err := L.CallByParam(luaCall(L)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("an untraced call recorded %d spans", n)
	}
	ctx, root := tp.Tracer("test").Start(context.Background(), "plugin call")
	L.SetContext(ctx)
	if err := L.CallByParam(luaCall(L)); err != nil {
		t.Fatal(err)
	}
	root.End()
	spans := rec.Ended()
	want := []string{"db.query_one", "db.exec", "db.query", "plugin call"}
	if len(spans) != len(want) {
		t.Fatalf("got %d spans, want %v", len(spans), want)
	}
	for i, sp := range spans[:3] {
		if sp.Name() != want[i] || sp.Parent().SpanID() != root.SpanContext().SpanID() || sp.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %d: %s with parent %s, want %s as a child of the call", i, sp.Name(), sp.Parent().SpanID(), want[i])
		}
		attrs := map[string]string{}
		for _, a := range sp.Attributes() {
			attrs[string(a.Key)] = a.Value.Emit()
			if a.Value.Emit() == "hunter2" {
				t.Errorf("%s records a parameter value (%s)", sp.Name(), a.Key)
			}
		}
		if attrs["db.system.name"] != "postgresql" || attrs["vbwd.plugin"] != "notes" || attrs["db.query.text"] == "" {
			t.Errorf("%s attributes: %v", sp.Name(), attrs)
		}
	}
	if spans[0].Status().Code == codes.Error || spans[2].Status().Code != codes.Error {
		t.Errorf("statuses: %v %v, want the failing query's span failed", spans[0].Status(), spans[2].Status())
	}
}

func luaCall(L *lua.LState) lua.P {
	return lua.P{Fn: L.GetGlobal("work"), NRet: 0, Protect: true}
}
