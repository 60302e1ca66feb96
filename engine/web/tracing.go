package web

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
)

// Traces (docs/ops.md, "Tracing"): with Options.TracerProvider set, every
// request is a server span, the Lua call of its route a child span, and the
// host modules' database queries and outbound calls children of that (they
// start spans only under a recording one: internal/tracing). DI calls and
// events are spans too; a durable event's delivery starts a trace of its
// own. Off (no provider), the hot path only tests the tracer for nil and
// looks the context up for a span: nothing is allocated.

// StartRequest starts the server span of r, continuing the caller's trace
// (traceparent), and notes its trace id for the access log and errors;
// tracer is nil when tracing is off.
func StartRequest(tracer trace.Tracer, r *http.Request, rw *RespWriter) (*http.Request, trace.Span) {
	if tracer == nil {
		return r, nil
	}
	ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, sp := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
		attribute.String("vbwd.request_id", rw.RequestID)))
	if sc := sp.SpanContext(); sc.HasTraceID() {
		rw.TraceID = sc.TraceID().String()
	}
	return r.WithContext(ctx), sp
}

// EndRequest records the answer's status on the request span and ends it.
func EndRequest(sp trace.Span, rw *RespWriter) {
	if sp == nil {
		return
	}
	status := rw.Status
	if status == 0 {
		status = http.StatusOK
	}
	sp.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		sp.SetStatus(codes.Error, http.StatusText(status))
	}
	sp.End()
}

// StartCall starts the span of a route's Lua call (plugin, generation,
// route: the full path) and names the request span after the route.
func StartCall(ctx context.Context, plugin string, generation int64, method, route string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	parent.SetName(method + " " + route)
	parent.SetAttributes(attribute.String("http.route", route))
	ctx, sp := tracing.Start(ctx, "plugin "+plugin, trace.SpanKindInternal)
	sp.SetAttributes(attribute.String("vbwd.plugin", plugin), attribute.Int64("vbwd.generation", generation),
		attribute.String("http.route", route))
	return ctx, sp
}

// StartDI starts the span of a DI call from plugin caller.
func StartDI(ctx context.Context, caller, service, method string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	ctx, sp := tracing.Start(ctx, "di "+service+"."+method, trace.SpanKindInternal)
	sp.SetAttributes(attribute.String("vbwd.plugin", caller), attribute.String("vbwd.service", service))
	return ctx, sp
}

// StartEvent starts the span of an event's emit or publish (what) under a
// traced call.
func StartEvent(ctx context.Context, what, name, source string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	ctx, sp := tracing.Start(ctx, "event "+what+" "+name, trace.SpanKindInternal)
	sp.SetAttributes(attribute.String("vbwd.event", name), attribute.String("vbwd.plugin", source))
	return ctx, sp
}

// StartDelivery starts the span of one handler's run of an event: a child
// of the emit under a traced request, else (a durable delivery, on a worker)
// the root of a trace of its own when tracing is on (tracer not nil).
func StartDelivery(ctx context.Context, tracer trace.Tracer, name, plugin string, attempt int) (context.Context, trace.Span) {
	if tracer == nil && !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	var sp trace.Span
	if trace.SpanFromContext(ctx).IsRecording() {
		ctx, sp = tracing.Start(ctx, "event deliver "+name, trace.SpanKindInternal)
	} else {
		ctx, sp = tracer.Start(ctx, "event deliver "+name, trace.WithSpanKind(trace.SpanKindConsumer))
	}
	sp.SetAttributes(attribute.String("vbwd.event", name), attribute.String("vbwd.plugin", plugin),
		attribute.String("vbwd.attempt", strconv.Itoa(attempt)))
	return ctx, sp
}
