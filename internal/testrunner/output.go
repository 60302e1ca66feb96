package testrunner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// logCapture keeps what a test's plugin code logged (print, vbwd.log, and
// the engine's records about it, such as a failed handler), at every level,
// while passing records on to the runner's logger as before.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Reset()
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// logger returns a logger writing to the capture and to next.
func (c *logCapture) logger(next *slog.Logger) *slog.Logger {
	var nh slog.Handler = slog.DiscardHandler
	if next != nil {
		nh = next.Handler()
	}
	return slog.New(tee{capture: lineHandler{c: c}, next: nh})
}

// lineHandler writes a record as "LEVEL message k=v ... (src)", leaving
// out the plugin and generation tags every line would carry.
type lineHandler struct {
	c     *logCapture
	attrs []slog.Attr
}

func (h lineHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	src := ""
	add := func(a slog.Attr) bool {
		switch a.Key {
		case "plugin", "gen":
		case "src":
			src = a.Value.String()
		default:
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	if src != "" {
		b.WriteString(" (" + src + ")")
	}
	b.WriteString("\n")
	_, err := h.c.Write([]byte(b.String()))
	return err
}

func (h lineHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return lineHandler{c: h.c, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], a...)}
}

func (h lineHandler) WithGroup(string) slog.Handler { return h }

type tee struct{ capture, next slog.Handler }

func (t tee) Enabled(context.Context, slog.Level) bool { return true }

func (t tee) Handle(ctx context.Context, r slog.Record) error {
	_ = t.capture.Handle(ctx, r.Clone())
	if t.next.Enabled(ctx, r.Level) {
		return t.next.Handle(ctx, r)
	}
	return nil
}

func (t tee) WithAttrs(a []slog.Attr) slog.Handler {
	return tee{t.capture.WithAttrs(a), t.next.WithAttrs(a)}
}

func (t tee) WithGroup(n string) slog.Handler {
	return tee{t.capture.WithGroup(n), t.next.WithGroup(n)}
}

// output prints the test's captured output, indented, if there is any.
func (r *pluginRun) output(h *harness) {
	out := strings.TrimRight(h.logs.String(), "\n")
	if out == "" {
		return
	}
	fmt.Fprintf(r.o.Out, "    output:\n        %s\n", strings.ReplaceAll(out, "\n", "\n        "))
}

// hermeticRoot makes the root the engines of a run use: plugins/ is the
// real one (a symbolic link), plugins.json a copy, and config.json absent
// unless rootConfig (but for its "vbwd" entry: roles) — so an ops change to the root config.json does not
// change what tests see. t.config writes this root's config.json, which
// resetConfig restores before each file.
func hermeticRoot(root string, rootConfig bool) (dir string, cfg []byte, err error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", nil, err
	}
	dir, err = os.MkdirTemp("", "vbwd-test-root-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Symlink(filepath.Join(abs, "plugins"), filepath.Join(dir, "plugins")); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	if b, err := os.ReadFile(filepath.Join(abs, "plugins.json")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "plugins.json"), b, 0o644); err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(abs, "config.json")); err == nil {
		cfg = b
		if !rootConfig {
			cfg, err = engineSection(b)
			if err != nil {
				os.RemoveAll(dir)
				return "", nil, err
			}
		}
	}
	return dir, cfg, nil
}

// engineSection keeps only the engine's own "vbwd" entry (roles) of a
// root config.json: plugin overrides are what makes tests not hermetic.
func engineSection(b []byte) ([]byte, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	v, ok := all["vbwd"]
	if !ok {
		return nil, nil
	}
	return json.Marshal(map[string]json.RawMessage{"vbwd": v})
}

// resetConfig gives the run's root its initial config.json.
func (r *pluginRun) resetConfig() error {
	file := filepath.Join(r.root, "config.json")
	if r.rootCfg == nil {
		if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	return os.WriteFile(file, r.rootCfg, 0o644)
}
