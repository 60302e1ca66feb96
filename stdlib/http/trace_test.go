package http

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTrace_OutboundSpan: a traced outbound call is a client span, child of
// the plugin call, whose trace the called service continues (traceparent);
// the query string is not recorded; a 5xx fails the span; untraced calls
// send no traceparent and record nothing.
func TestTrace_OutboundSpan(t *testing.T) {
	got := make(chan string, 4)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Traceparent")
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	_, L, _ := newModule(t, NewClient(hosts{"api.test": "127.0.0.1"}), "api.test")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	call := fmt.Sprintf(`local r, e = http.get("http://api.test:%s/ok?key=secret") return r and r.status, e`, s.port())

	L.SetContext(context.Background())
	if res, err := run(t, L, call); res != "200" {
		t.Fatalf("untraced call: %s %s", res, err)
	}
	if tp := <-got; tp != "" || len(rec.Ended()) != 0 {
		t.Errorf("an untraced call sent traceparent %q and recorded %d spans", tp, len(rec.Ended()))
	}

	ctx, root := tp.Tracer("test").Start(context.Background(), "plugin call")
	L.SetContext(ctx)
	if res, err := run(t, L, call); res != "200" {
		t.Fatalf("traced call: %s %s", res, err)
	}
	_, _ = run(t, L, fmt.Sprintf(`return http.get("http://api.test:%s/fail")`, s.port()))
	root.End()
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want 3", len(spans))
	}
	sp := spans[0]
	if sp.Name() != "HTTP GET" || sp.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Errorf("span %s with parent %s, want HTTP GET as a child of the call", sp.Name(), sp.Parent().SpanID())
	}
	want := "00-" + root.SpanContext().TraceID().String() + "-" + sp.SpanContext().SpanID().String() + "-01"
	if tp := <-got; tp != want {
		t.Errorf("traceparent %q, want %q", tp, want)
	}
	for _, a := range sp.Attributes() {
		if a.Key == "url.full" && a.Value.AsString() != "http://api.test:"+s.port()+"/ok" {
			t.Errorf("url.full = %q: want it without the query", a.Value.AsString())
		}
	}
	if spans[0].Status().Code == codes.Error || spans[1].Status().Code != codes.Error {
		t.Errorf("statuses %v %v: want the 502 failed", spans[0].Status(), spans[1].Status())
	}
}
