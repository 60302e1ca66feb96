package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAccessLog(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var out logBuf
			te := startEngine(t, shippedRoot(t), func(o *Options) { o.AccessLog, o.AccessLogFormat = &out, format })
			r := te.do(t, "GET", "/api/v1/hello/wor%20ld", "")
			te.do(t, "GET", "/nowhere", "")
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 lines, got %q", out.String())
			}
			id := r.header.Get("X-Request-Id")
			if format == "json" {
				var m map[string]any
				if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
					t.Fatalf("%v: %s", err, lines[0])
				}
				want := map[string]any{"msg": "request", "method": "GET", "path": "/api/v1/hello/wor ld",
					"status": float64(200), "request_id": id, "plugin": "hello", "gen": float64(1)}
				for k, v := range want {
					if m[k] != v {
						t.Errorf("%s = %v, want %v", k, m[k], v)
					}
				}
				return
			}
			for _, want := range []string{"msg=request", "method=GET", `path="/api/v1/hello/wor ld"`, "status=200",
				"request_id=" + id, "plugin=hello", "gen=1", "dur="} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("line lacks %q: %s", want, lines[0])
				}
			}
			if !strings.Contains(lines[1], "status=404") || !strings.Contains(lines[1], `plugin="" gen=0`) {
				t.Errorf("404 line: %s", lines[1])
			}
		})
	}
}
