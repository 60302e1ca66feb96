package pkgs_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/pkgs"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// initLua is a plugin's init.lua: name, version and dependencies.
func initLua(name, version string, deps ...string) string {
	q := make([]string, len(deps))
	for i, d := range deps {
		q[i] = fmt.Sprintf("%q", d)
	}
	return fmt.Sprintf("-- %s\nreturn {\n  name = %q,\n  version = %q,\n  description = \"the %s plugin\",\n  dependencies = {%s},\n}\n",
		name, name, version, name, strings.Join(q, ", "))
}

func write(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// blogRepo makes a git repository holding the blog plugin in plugins/blog
// (it depends on base@^1.0), tagged v1.0.0 and v1.1.0; it returns the
// repository and the tags' commits.
func blogRepo(t *testing.T) (string, map[string]string) {
	t.Helper()
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	commits := map[string]string{}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		write(t, filepath.Join(repo, "plugins/blog/init.lua"), initLua("blog", v, "base@^1.0"))
		write(t, filepath.Join(repo, "plugins/blog/blog/posts.lua"), "return {v = \""+v+"\"}\n")
		write(t, filepath.Join(repo, "README.md"), "blog "+v+"\n")
		git(t, repo, "add", "-A")
		git(t, repo, "commit", "-q", "-m", "blog "+v)
		git(t, repo, "tag", "v"+v)
		commits["v"+v] = git(t, repo, "rev-parse", "HEAD")
	}
	return repo, commits
}

// baseRepo makes a repository with the base plugin at its root, tagged
// v1.0.0, v1.1.0 and v2.0.0.
func baseRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		write(t, filepath.Join(repo, "init.lua"), initLua("base", v))
		git(t, repo, "add", "-A")
		git(t, repo, "commit", "-q", "-m", "base "+v)
		git(t, repo, "tag", "v"+v)
	}
	return repo
}

// registry is an HTTPS index server: base 1.0.0, 1.1.0 and 2.0.0 packed
// with pkgs.Pack into dir, which the server serves.
type registry struct {
	dir string
	srv *httptest.Server
}

func newRegistry(t *testing.T, key ed25519.PrivateKey, versions ...string) *registry {
	t.Helper()
	r := &registry{dir: t.TempDir()}
	for _, v := range versions {
		src := filepath.Join(t.TempDir(), "base")
		write(t, filepath.Join(src, "init.lua"), initLua("base", v))
		write(t, filepath.Join(src, "base", "util.lua"), "return {v = \""+v+"\"}\n")
		if _, err := pkgs.Pack(context.Background(), pkgs.EngineInspector, src, r.dir, key); err != nil {
			t.Fatal(err)
		}
	}
	r.srv = httptest.NewTLSServer(http.FileServer(http.Dir(r.dir)))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *registry) indexURL() string { return r.srv.URL + "/index.json" }

// newRoot makes an engine root whose config.json holds packages (the
// "vbwd": {"packages": ...} entry).
func newRoot(t *testing.T, packages map[string]any) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"vbwd": map[string]any{"packages": packages}})
	write(t, filepath.Join(root, "config.json"), string(b))
	return root
}

func manager(t *testing.T, root string, reg *registry) *pkgs.Manager {
	t.Helper()
	m, err := pkgs.New(root, pkgs.EngineInspector)
	if err != nil {
		t.Fatal(err)
	}
	if reg != nil {
		m.HTTP = reg.srv.Client()
	}
	return m
}

// tree is every file under dir with its content: "plugins/ exactly as it was".
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			lines = append(lines, rel+"/")
			return nil
		}
		b, err := os.ReadFile(p)
		lines = append(lines, rel+"="+archive.SHA256(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func lockOf(t *testing.T, root string) *pkgs.LockFile {
	t.Helper()
	l, err := pkgs.ReadLock(root)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// installed reads plugins/ with the engine's loader: name -> version.
func installed(t *testing.T, root string) map[string]pkgs.Info {
	t.Helper()
	infos, err := pkgs.EngineInspector(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	for n, i := range infos {
		if i.Err != nil {
			t.Fatalf("%s does not load: %v", n, i.Err)
		}
	}
	return infos
}

func wantErr(t *testing.T, err error, sub string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Fatalf("error = %v, want one containing %q", err, sub)
	}
}
