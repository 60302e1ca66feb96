package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/console"
)

func getUI(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func TestServesShellAndModulesWithStrictCSP(t *testing.T) {
	h := console.Handler("/admin/ui")
	if res := getUI(t, h, "/admin/ui"); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/admin/ui/" {
		t.Fatalf("/admin/ui: %d %q, want a redirect to /admin/ui/", res.StatusCode, res.Header.Get("Location"))
	}
	for path, ctype := range map[string]string{"/admin/ui/": "text/html", "/admin/ui/js/app.js": "text/javascript", "/admin/ui/app.css": "text/css"} {
		res := getUI(t, h, path)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("%s: %d %q (%d bytes)", path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe sources: %q", path, csp)
		}
	}
	for _, path := range []string{"/admin/ui/nope.js", "/admin/ui/../console.go", "/admin/uix", "/other"} {
		if res := getUI(t, h, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.StatusCode)
		}
	}
}

// The CSP forbids inline code; the files must not need it. And no file may
// load anything from another origin (works offline, no CDN).
func TestAssetsNeedNoInlineCodeNorOtherOrigins(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	inlineAttr := regexp.MustCompile(`\s(?:style|on[a-z]+)\s*=`)
	remote := regexp.MustCompile(`(?:src|href)\s*=\s*["']?(?:https?:)?//|import\s[^;]*from\s*['"]https?:|@import`)
	total := 0
	err := filepath.WalkDir("static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		total += len(b)
		s := string(b)
		if strings.HasSuffix(p, ".html") && (inlineScript.MatchString(s) || inlineAttr.MatchString(s)) {
			t.Errorf("%s has inline script or style", p)
		}
		if remote.MatchString(s) {
			t.Errorf("%s loads from another origin: %s", p, remote.FindString(s))
		}
		if strings.Contains(s, "innerHTML") || strings.Contains(s, "eval(") {
			t.Errorf("%s builds markup from strings (innerHTML/eval)", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 100<<10 {
		t.Errorf("the console is %d bytes; keep it small (under 100 KiB)", total)
	}
}
