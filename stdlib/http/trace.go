package http

import (
	"context"
	"net/http"
	"net/url"

	lua "github.com/yuin/gopher-lua"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
)

// startSpan starts the client span of an outbound call when the plugin call
// is traced, else returns ctx and nil without allocating. The URL is recorded
// without its query, which may carry credentials.
func (m *Module) startSpan(ctx context.Context, method string, u *url.URL) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	ctx, sp := tracing.Start(ctx, "HTTP "+method, trace.SpanKindClient)
	sp.SetAttributes(attribute.String("http.request.method", method), attribute.String("server.address", u.Hostname()),
		attribute.String("url.full", u.Scheme+"://"+u.Host+u.Path), attribute.String("vbwd.plugin", m.opts.Plugin))
	return ctx, sp
}

// inject sends the trace context (traceparent) with a traced request, so the
// service called can continue the trace.
func inject(ctx context.Context, sp trace.Span, req *http.Request) {
	if sp != nil {
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
}

// spanStatus records the response status; 5xx marks the span failed.
func spanStatus(sp trace.Span, status int) {
	if sp == nil {
		return
	}
	sp.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		sp.SetStatus(codes.Error, http.StatusText(status))
	}
}

// failSpan records err on the call's span and fails the call.
func failSpan(L *lua.LState, sp trace.Span, err error) int {
	tracing.Fail(sp, err)
	return fail(L, err)
}
