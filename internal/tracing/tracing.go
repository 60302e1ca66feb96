// Package tracing sets up OpenTelemetry traces from the standard OTEL_*
// environment variables, and gives the engine and the host modules one way
// to start a span: as a child of the span the caller's context carries, and
// only when that span records. Untraced calls (tracing off, or a request the
// sampler dropped) therefore allocate nothing and never look up a tracer.
package tracing

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of every vbwd span.
const Scope = "github.com/vbwd-platform/vbwd-engine"

// Env lists the environment variables FromEnv and the SDK read (for help
// texts and docs).
var Env = []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SDK_DISABLED"}

// Enabled reports whether the environment asks for traces: an OTLP endpoint
// is set or OTEL_TRACES_EXPORTER is otlp, and neither OTEL_SDK_DISABLED=true
// nor OTEL_TRACES_EXPORTER=none turns them off. Tracing is off by default.
func Enabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch exp := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "none":
		return false
	case "otlp":
		return true
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv returns a tracer provider batching spans to an OTLP exporter
// configured by the OTEL_* variables (endpoint, protocol http/protobuf or
// grpc, headers, timeout; sampler; service name and resource attributes),
// or nil when Enabled is false. Shut it down to flush the last spans.
func FromEnv(ctx context.Context, version string) (*sdktrace.TracerProvider, error) {
	if !Enabled() {
		return nil, nil
	}
	if exp := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))); exp != "" && exp != "otlp" {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: vbwd exports traces over OTLP only (otlp or none)", exp)
	}
	exporter, err := newExporter(ctx)
	if err != nil {
		return nil, err
	}
	// Later sources win: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
	// override the defaults.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(attribute.String("service.name", "vbwd"), attribute.String("service.version", version)),
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// No sampler option: the SDK reads OTEL_TRACES_SAMPLER (default
	// parentbased_always_on), and OTEL_BSP_* for the batcher.
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}

// newExporter is the OTLP exporter of OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL;
// both read their endpoint, headers, timeout and TLS settings from the
// environment themselves.
func newExporter(ctx context.Context) (*otlptrace.Exporter, error) {
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.ToLower(strings.TrimSpace(proto)) {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	}
	return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: want http/protobuf or grpc", proto)
}

// Start starts a span named name as a child of the span ctx carries when
// that span is recording, and returns the span's context. Otherwise it
// returns ctx and a nil span (End and the setters below accept nil), without
// allocating.
func Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, trace.WithSpanKind(kind))
}

// End ends sp, recording err as its error status when not nil.
func End(sp trace.Span, err error) {
	if sp == nil {
		return
	}
	if err != nil {
		Fail(sp, err)
	}
	sp.End()
}

// Fail records err on sp (nil-safe).
func Fail(sp trace.Span, err error) {
	if sp == nil || err == nil {
		return
	}
	sp.RecordError(err)
	sp.SetStatus(codes.Error, err.Error())
}

// TraceID is the id of the trace ctx belongs to, "" when it has none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
