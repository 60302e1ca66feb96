package tracing

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"off by default", nil, false},
		{"an endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{"a traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true},
		{"exporter otlp", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, false},
		{"SDK disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"} {
				t.Setenv(k, tc.env[k])
			}
			if got := Enabled(); got != tc.want {
				t.Errorf("Enabled() = %v, want %v", got, tc.want)
			}
			tp, err := FromEnv(context.Background(), "test")
			if err != nil || (tp != nil) != tc.want {
				t.Errorf("FromEnv: %v, %v", tp, err)
			}
			if tp != nil {
				_ = tp.Shutdown(context.Background())
			}
		})
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := FromEnv(context.Background(), "test"); err == nil {
		t.Error("http/json: want an error naming the supported protocols")
	}
}

// TestStart_UntracedAllocatesNothing: the hot path when tracing is off.
func TestStart_UntracedAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		c, sp := Start(ctx, "db.query", trace.SpanKindClient)
		End(sp, nil)
		_ = c
	}); n != 0 {
		t.Errorf("an untraced Start allocates %.0f times", n)
	}
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)
	traced, root := tp.Tracer("t").Start(ctx, "request")
	c, sp := Start(traced, "db.query", trace.SpanKindClient)
	if sp == nil || TraceID(c) != root.SpanContext().TraceID().String() || TraceID(ctx) != "" {
		t.Errorf("traced Start: span %v, trace id %q", sp, TraceID(c))
	}
	End(sp, nil)
	root.End()
}
