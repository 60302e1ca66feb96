package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an in-process OTLP/HTTP trace receiver: it decodes the
// protobuf export requests the engine's exporter POSTs to /v1/traces.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP receiver: %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("OTLP receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rcv.spans = append(rcv.spans, ss.Spans...)
			}
		}
		rcv.mu.Unlock()
		resp, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

func attr(sp *tracepb.Span, key string) string {
	for _, a := range sp.Attributes {
		if a.Key == key {
			switch v := a.Value.Value.(type) {
			case *commonpb.AnyValue_StringValue:
				return v.StringValue
			case *commonpb.AnyValue_IntValue:
				return strconv.FormatInt(v.IntValue, 10)
			}
		}
	}
	return ""
}

// TestTracing_OTLP serves the notes plugin with OTEL_EXPORTER_OTLP_ENDPOINT
// pointing at an in-process receiver: every request is one trace whose root
// is the HTTP request span, with the plugin call (plugin, generation, route)
// as its child and the call's database query as the plugin call's child.
// The access log and a 500 answer carry the trace id.
func TestTracing_OTLP(t *testing.T) {
	rcv := newOTLPReceiver(t)
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	root := copyHello(t, map[string]string{
		"plugins.json": `{"plugins": {"notes": {"enabled": true}, "boom": {"enabled": true}}}`,
		"plugins/boom/init.lua": `return { name = "boom", version = "1.0.0", url_prefix = "/api/v1/boom",
  routes = function(r) r:get("/", function() error("kaput") end) end }`,
	})
	copyPlugin(t, "notes", root)
	base, stop := serveUntil(t, root)
	for i := 0; i < 2; i++ {
		resp, err := http.Get(base + "/api/v1/notes/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("notes: %d", resp.StatusCode)
		}
	}
	resp, err := http.Get(base + "/api/v1/boom/")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	boomTrace, _ := body["trace_id"].(string)
	if resp.StatusCode != 500 || len(boomTrace) != 32 || body["request_id"] == nil {
		t.Errorf("a 500 answer: %d %v, want request_id and trace_id", resp.StatusCode, body)
	}
	if err := stop(); err != nil { // shutdown flushes the last spans
		t.Fatal(err)
	}
	rcv.mu.Lock()
	spans := rcv.spans
	rcv.mu.Unlock()
	byTrace := map[string][]*tracepb.Span{}
	for _, sp := range spans {
		id := hex.EncodeToString(sp.TraceId)
		byTrace[id] = append(byTrace[id], sp)
	}
	notesTraces := 0
	for id, trace := range byTrace {
		var server, call, query *tracepb.Span
		for _, sp := range trace {
			switch {
			case sp.Kind == tracepb.Span_SPAN_KIND_SERVER:
				server = sp
			case attr(sp, "vbwd.plugin") == "notes" && strings.HasPrefix(sp.Name, "plugin "):
				call = sp
			case sp.Name == "db.query":
				query = sp
			}
		}
		if server == nil || !strings.Contains(server.Name, "/api/v1/notes") {
			continue
		}
		notesTraces++
		if len(server.ParentSpanId) != 0 {
			t.Errorf("trace %s: the request span has a parent", id)
		}
		if call == nil || string(call.ParentSpanId) != string(server.SpanId) {
			t.Errorf("trace %s: no plugin call span under the request span: %v", id, names(trace))
			continue
		}
		if attr(call, "vbwd.generation") == "" || attr(call, "http.route") == "" {
			t.Errorf("trace %s: plugin call attributes %v", id, call.Attributes)
		}
		if query == nil || string(query.ParentSpanId) != string(call.SpanId) || !strings.Contains(attr(query, "db.query.text"), "from notes_notes") {
			t.Errorf("trace %s: no database query span under the plugin call: %v", id, names(trace))
		}
	}
	if notesTraces != 2 {
		t.Errorf("got %d traces of the 2 notes requests (%d spans in %d traces)", notesTraces, len(spans), len(byTrace))
	}
	if byTrace[boomTrace] == nil {
		t.Errorf("the 500's trace id %s was not exported", boomTrace)
	}
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, sp.Name)
	}
	return out
}
