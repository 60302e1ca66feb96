package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vbwd-platform/vbwd-engine/engine"
)

const (
	adminToken = "console-test-admin-token"
	jwtSecret  = "console-test-jwt-secret"
)

// chromium finds Debian's Chromium (or another Chrome); "" when none.
func chromium() string {
	if p := os.Getenv("VBWD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// lockedBuf is the engine's log, shown when a test fails.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// copyPlugins lays out root with the shipped plugins named.
func copyPlugins(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, name := range names {
		src := filepath.Join("..", "plugins", name)
		err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			dst := filepath.Join(root, "plugins", name, rel)
			if info.IsDir() {
				return os.MkdirAll(dst, 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startEngine starts a real engine on root (with a database when db is
// set) serving on loopback; it stops with the test.
func startEngine(t *testing.T, root string, db *pgxpool.Pool, token string) (*engine.Engine, string) {
	t.Helper()
	logs := &lockedBuf{}
	secret := ""
	if token != "" {
		secret = jwtSecret
	}
	eng, err := engine.New(engine.Options{Root: root, DB: db, AdminToken: token, JWTSecret: secret, PoolMin: 1, PoolMax: 4,
		RequestTimeout: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		AccessLog: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(eng.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = eng.Shutdown(context.Background())
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	return eng, srv.URL
}

// browser is one headless Chromium for the whole test, with downloads
// going to a temporary directory.
type browserT struct {
	t         *testing.T
	ctx       context.Context
	shots     string
	downloads string
}

func newBrowser(t *testing.T, exe string) *browserT {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	shots, err := os.MkdirTemp("", "vbwd-console-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)
	fmt.Fprintf(os.Stderr, "console browser test: screenshots in %s\n", shots)
	b := &browserT{t: t, ctx: ctx, shots: shots, downloads: t.TempDir()}
	if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: b.downloads}); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return b
}

func (b *browserT) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

func (b *browserT) fail(step string, err error) {
	b.t.Helper()
	body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	b.shot("failed-" + strings.NewReplacer(" ", "-", "/", "-", `"`, "").Replace(step))
	b.t.Fatalf("%s: %v\npage text:\n%s", step, err, body)
}

// poll waits until the JavaScript expression is true.
func (b *browserT) poll(step, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.fail(step, err)
	}
}

// js quotes a Go value for a JavaScript expression.
func js(v any) string {
	s, _ := json.Marshal(v)
	return string(s)
}

// waitText waits until the element sel exists and its text holds want.
func (b *browserT) waitText(sel, want string) {
	b.t.Helper()
	b.poll(fmt.Sprintf("wait for %q in %s", want, sel),
		fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !!el && el.textContent.includes(%s); })()`, js(sel), js(want)))
}

// click clicks sel once it exists (the live table re-renders its rows, so
// the element is looked up and clicked in one step).
func (b *browserT) click(sel string) {
	b.t.Helper()
	b.poll("click "+sel,
		fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el || el.disabled) return false; el.click(); return true; })()`, js(sel)))
}

// set types a value into a form field and fires its input event.
func (b *browserT) set(sel, value string) {
	b.t.Helper()
	b.poll("set "+sel,
		fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false; el.value = %s; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, js(sel), js(value)))
}

func (b *browserT) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ''`, js(sel))))
	if err != nil {
		b.fail("read "+sel, err)
	}
	return s
}

func (b *browserT) shot(name string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG, below: JPEG
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Error(err)
	}
}

// waitFile waits for a download to land.
func (b *browserT) waitFile(name string) string {
	b.t.Helper()
	path := filepath.Join(b.downloads, name)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return string(data)
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(b.downloads)
			b.t.Fatalf("no download %s (the directory holds %v)", name, entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
