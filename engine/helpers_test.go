package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// files maps a path relative to the root to its content.
type files map[string]string

// writeRoot lays out an engine root in a temp dir: every path in fs is
// written (parents created). plugins/ always exists.
func writeRoot(t testing.TB, fs files) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, content := range fs {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// plugin returns an init.lua for a plugin with the given extra fields and
// body (Lua statements defining P.routes etc.).
func pluginSrc(name, extra, body string) string {
	return "local P = { name = \"" + name + "\", version = \"1.0.0\", url_prefix = \"/api/" + name + "\" " +
		extra + " }\n" + body + "\nreturn P\n"
}

// logBuf is a concurrency-safe log capture.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type testEngine struct {
	*Engine
	srv  *httptest.Server
	logs *logBuf
}

// startEngine starts an engine on root and serves it over real loopback HTTP.
func startEngine(t testing.TB, root string, mod func(*Options)) *testEngine {
	t.Helper()
	logs := &logBuf{}
	opts := Options{Root: root, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RequestTimeout: 2 * time.Second, PoolMin: 1, PoolMax: 4}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	te := &testEngine{Engine: e, srv: httptest.NewServer(e.Handler()), logs: logs}
	t.Cleanup(func() {
		te.srv.Close()
		_ = e.Shutdown(context.Background())
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	return te
}

type result struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func (te *testEngine) do(t testing.TB, method, path, body string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, te.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := te.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && strings.HasPrefix(res.body, "{") {
		if err := json.Unmarshal(b, &res.json); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, path, b, err)
		}
	}
	return res
}

func (te *testEngine) status(t testing.TB, name string) PluginStatus {
	t.Helper()
	st, ok := te.Plugin(name)
	if !ok {
		t.Fatalf("no plugin %s", name)
	}
	return st
}
