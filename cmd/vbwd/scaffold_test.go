package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runNew runs `vbwd plugin new` in root: through the real command tree when
// the command is registered there, else on its own.
func runNew(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	if c, _, err := newRootCmd().Find([]string{"plugin", "new"}); err == nil && c.Name() == "new" {
		return runCLI(t, context.Background(), append([]string{"plugin", "new", "--root", root}, args...)...)
	}
	cmd := newPluginNewCmd(&globals{root: root, logLevel: "info", logFormat: "text"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func readJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not valid JSON: %v\n%s", file, err, b)
	}
	return m
}

// scaffoldedFiles are the files `vbwd plugin new inventory` makes, except the
// migration, whose name has a timestamp.
var scaffoldedFiles = []string{
	"init.lua", "inventory/items.lua", "config.json", "admin-config.json", "populate.lua",
	"tests/inventory_test.lua", "README.md", ".luarc.json",
}

func TestPluginNew(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	root := copyHello(t, map[string]string{
		"plugins.json": `{"plugins": {"hello": {"enabled": true, "source": "shipped"}}, "note": "kept"}`,
		"config.json":  `{"hello": {"greeting": "Moin"}}`,
	})
	out, err := runNew(t, root, "inventory")
	if err != nil {
		t.Fatalf("plugin new: %v\n%s", err, out)
	}
	dir := filepath.Join(root, "plugins", "inventory")
	for _, f := range scaffoldedFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
		if !strings.Contains(out, "created plugins/inventory/"+f+"\n") {
			t.Errorf("output does not list %s:\n%s", f, out)
		}
	}
	migs, _ := filepath.Glob(filepath.Join(dir, "migrations", "*_create_inventory_items.sql"))
	if len(migs) != 1 {
		t.Fatalf("migrations: %v", migs)
	}
	checkRegistered(t, root)
	leftovers, _ := filepath.Glob(filepath.Join(root, ".*"))
	for _, p := range leftovers {
		if filepath.Base(p) != ".vbwd" { // the editor stubs, .vbwd/types
			t.Errorf("temporary file left in the root: %v", p)
		}
	}
	checkLuarcFindsStubs(t, dir)
	if !strings.Contains(out, "editor stubs to .vbwd/types") {
		t.Errorf("output does not mention the stubs:\n%s", out)
	}

	t.Run("luacheck", func(t *testing.T) { luacheckClean(t, dir) })

	// The scaffolded tests pass under the test runner.
	if out, err := runCLI(t, context.Background(), "test", "inventory", "--root", root); err != nil || !strings.Contains(out, "0 failed") {
		t.Errorf("vbwd test inventory: %v\n%s", err, out)
	}

	base, stop := serveUntil(t, root, "--populate")
	if code, m := getJSON(t, base+"/api/v1/inventory/"); code != 200 || m["plugin"] != "inventory" || m["message"] == nil {
		t.Errorf("GET /: %d %v", code, m)
	}
	code, m := getJSON(t, base+"/api/v1/inventory/items")
	items, _ := m["items"].([]any)
	if code != 200 || len(items) != 2 {
		t.Errorf("GET /items (migrated and populated): %d %v", code, m)
	}
	if code, m := getJSON(t, base+"/api/v1/inventory/items?limit=0"); code != 422 {
		t.Errorf("GET /items?limit=0: %d %v", code, m)
	}
	if code, m := getJSON(t, base+"/api/v1/hello/world"); code != 200 || m["message"] != "Moin, world!" {
		t.Errorf("hello, with its config kept: %d %v", code, m)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}

	out, err = runCLI(t, context.Background(), "plugin", "list", "--json", "--root", root)
	if err != nil {
		t.Fatal(err)
	}
	var st []map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range st {
		if p["name"] == "inventory" {
			found = true
			if p["state"] != "enabled" || p["version"] != "0.1.0" {
				t.Errorf("plugin list: %v", p)
			}
		}
	}
	if !found {
		t.Errorf("plugin list lacks inventory:\n%s", out)
	}
}

func checkRegistered(t *testing.T, root string) {
	t.Helper()
	pj := readJSON(t, filepath.Join(root, "plugins.json"))
	plugins, _ := pj["plugins"].(map[string]any)
	hello, _ := plugins["hello"].(map[string]any)
	inv, _ := plugins["inventory"].(map[string]any)
	if pj["note"] != "kept" || hello["enabled"] != true || hello["source"] != "shipped" || inv["enabled"] != true {
		t.Errorf("plugins.json: %v", pj)
	}
	cfg := readJSON(t, filepath.Join(root, "config.json"))
	helloCfg, _ := cfg["hello"].(map[string]any)
	invCfg, ok := cfg["inventory"].(map[string]any)
	if helloCfg["greeting"] != "Moin" || !ok || len(invCfg) != 0 {
		t.Errorf("config.json: %v", cfg)
	}
}

// luacheckClean runs luacheck with the repository's .luacheckrc over dir.
func luacheckClean(t *testing.T, dir string) {
	if _, err := exec.LookPath("luacheck"); err != nil {
		t.Skip("luacheck is not installed (Debian: apt-get install lua-check)")
	}
	rc, err := filepath.Abs(filepath.Join("..", "..", ".luacheckrc"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("luacheck", "--config", rc, "--no-color", "--formatter", "plain", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("luacheck found problems in the scaffold: %v\n%s", err, out)
	}
}

func TestPluginNew_Refusals(t *testing.T) {
	root := copyHello(t, nil)
	before, _ := os.ReadFile(filepath.Join(root, "plugins.json"))
	for _, tc := range []struct{ name, want string }{
		{"Inventory", "bad plugin name"},
		{"1st", "bad plugin name"},
		{"my-plugin", "bad plugin name"},
		{"_x", "bad plugin name"},
		{strings.Repeat("a", 65), "bad plugin name"},
		{"vbwd", "host modules"},
		{"hello", "plugins/hello already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runNew(t, root, tc.name)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := runNew(t, root); err == nil {
		t.Error("no name: accepted")
	}
	after, _ := os.ReadFile(filepath.Join(root, "plugins.json"))
	if !bytes.Equal(before, after) {
		t.Errorf("a refused scaffold changed plugins.json:\n%s", after)
	}
	if _, err := os.Stat(filepath.Join(root, "config.json")); !os.IsNotExist(err) {
		t.Errorf("a refused scaffold made config.json: %v", err)
	}

	t.Run("broken plugins.json", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, "plugins.json"), []byte(`{"plugins": `), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := runNew(t, root, "fresh")
		if err == nil || !strings.Contains(err.Error(), "plugins.json") {
			t.Errorf("got %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "plugins", "fresh")); !os.IsNotExist(err) {
			t.Errorf("plugins/fresh was made although plugins.json is broken: %v", err)
		}
	})
	t.Run("not an engine root", func(t *testing.T) {
		_, err := runNew(t, t.TempDir(), "fresh")
		if err == nil || !strings.Contains(err.Error(), "no plugins/ directory") {
			t.Errorf("got %v", err)
		}
	})
}

// Without a plugins.json every plugin is enabled; the file the scaffold
// writes keeps the others enabled.
func TestPluginNew_NoPluginsJSON(t *testing.T) {
	root := copyHello(t, nil)
	if err := os.Remove(filepath.Join(root, "plugins.json")); err != nil {
		t.Fatal(err)
	}
	out, err := runNew(t, root, "shop")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	pj := readJSON(t, filepath.Join(root, "plugins.json"))
	plugins, _ := pj["plugins"].(map[string]any)
	for _, n := range []string{"hello", "shop"} {
		if e, _ := plugins[n].(map[string]any); e["enabled"] != true {
			t.Errorf("%s not enabled: %v", n, pj)
		}
	}
	if !strings.Contains(out, "enabling hello, shop") {
		t.Errorf("output: %s", out)
	}
}

// The scaffold stays within luacheck's line length for the longest name.
func TestPluginNew_LongestName(t *testing.T) {
	root := copyHello(t, nil)
	name := "x" + strings.Repeat("_9", 31) + "z"
	if out, err := runNew(t, root, name); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	luacheckClean(t, filepath.Join(root, "plugins", name))
}

// docBlock is a fenced code block of a doc with the doc-test comment right
// before it.
type docBlock struct {
	line   int    // line of the opening fence
	action string // the text of <!-- doc-test: ... -->
	body   string
}

// docBlocks returns the fenced blocks of a markdown file; a block without a
// doc-test comment on the line before it is an error.
func docBlocks(t *testing.T, file string) []docBlock {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		blk := docBlock{line: i + 1}
		if i > 0 && strings.HasPrefix(lines[i-1], "<!-- doc-test: ") && strings.HasSuffix(lines[i-1], " -->") {
			blk.action = strings.TrimSuffix(strings.TrimPrefix(lines[i-1], "<!-- doc-test: "), " -->")
		} else {
			t.Errorf("%s:%d: code block without a <!-- doc-test: ... --> comment before it", file, i+1)
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		blk.body = strings.Join(body, "\n") + "\n"
		blocks = append(blocks, blk)
	}
	return blocks
}

// docRun carries out the blocks of a doc in root.
type docRun struct {
	t    *testing.T
	root string
	base string       // the running serve, or ""
	stop func() error // stops it
	last *http.Response
	body string
}

// TestGettingStarted runs docs/getting-started.md: its commands against a
// copy of the root, its file edits, and its curl examples with the status
// and body fragments given in the "# NNN ..." line after each.
func TestGettingStarted(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	r := &docRun{t: t, root: copyHello(t, nil)}
	defer r.stopServe()
	for _, blk := range docBlocks(t, filepath.Join("..", "..", "docs", "getting-started.md")) {
		verb, arg, _ := strings.Cut(blk.action, " ")
		switch verb {
		case "skip", "": // "": reported by docBlocks
		case "run":
			for _, line := range strings.Split(strings.TrimSpace(blk.body), "\n") {
				r.line(blk.line, strings.TrimSpace(line))
			}
		case "write":
			r.write(arg, blk.body)
		case "insert":
			file, anchor, ok := strings.Cut(arg, " before: ")
			if !ok {
				t.Fatalf("line %d: want insert FILE before: LINE", blk.line)
			}
			r.insert(file, anchor, blk.body)
		default:
			t.Fatalf("line %d: unknown doc-test action %q", blk.line, blk.action)
		}
	}
}

func (r *docRun) line(at int, line string) {
	t := r.t
	if line == "" {
		return
	}
	if strings.HasPrefix(line, "# ") {
		r.expect(at, strings.TrimPrefix(line, "# "))
		return
	}
	words := strings.Fields(strings.ReplaceAll(line, `"`, ""))
	switch words[0] {
	case "bin/vbwd":
		r.stopServe()
		args := words[1:]
		switch {
		case args[0] == "serve":
			r.base, r.stop = serveUntil(t, r.root, args[1:]...)
		case len(args) > 1 && args[0] == "migrate" && args[1] == "new":
			// Migration versions are timestamps in seconds: one made in the
			// same second as the scaffold's would share its version.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
			if out, err := runCLI(t, context.Background(), append(args, "--root", r.root)...); err != nil {
				t.Fatalf("doc line %d: %s: %v\n%s", at, line, err, out)
			}
		case len(args) > 1 && args[0] == "plugin" && args[1] == "new":
			if out, err := runNew(t, r.root, args[2:]...); err != nil {
				t.Fatalf("doc line %d: %s: %v\n%s", at, line, err, out)
			}
		default:
			if out, err := runCLI(t, context.Background(), append(args, "--root", r.root)...); err != nil {
				t.Fatalf("doc line %d: %s: %v\n%s", at, line, err, out)
			}
		}
	case "curl":
		if r.base == "" {
			t.Fatalf("doc line %d: %s: no server is running", at, line)
		}
		url := strings.Replace(words[len(words)-1], "http://127.0.0.1:8080", r.base, 1)
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.last, r.body = resp, strings.TrimSpace(string(b))
	case "luacheck":
		luacheckClean(t, filepath.Join(r.root, words[1]))
	default:
		t.Fatalf("doc line %d: the doc test cannot run %q", at, line)
	}
}

// expect checks the last curl against "NNN fragment...fragment": the status,
// and the body containing the fragments in order.
func (r *docRun) expect(at int, want string) {
	t := r.t
	if r.last == nil {
		t.Fatalf("doc line %d: %q follows no curl", at, want)
	}
	code, frags, _ := strings.Cut(want, " ")
	if strconv.Itoa(r.last.StatusCode) != code {
		t.Errorf("doc line %d: %s answered %d %s, the doc says %s", at, r.last.Request.URL, r.last.StatusCode, r.body, want)
	}
	rest := r.body
	for _, f := range strings.Split(frags, "...") {
		i := strings.Index(rest, f)
		if i < 0 {
			t.Errorf("doc line %d: %s answered %s, which lacks %q (the doc says %s)", at, r.last.Request.URL, r.body, f, frags)
			break
		}
		rest = rest[i+len(f):]
	}
	r.last = nil
}

func (r *docRun) stopServe() {
	if r.stop != nil {
		if err := r.stop(); err != nil {
			r.t.Errorf("serve: %v", err)
		}
		r.base, r.stop = "", nil
	}
}

// write replaces the file matching pattern (exactly one) with content.
func (r *docRun) write(pattern, content string) {
	matches, _ := filepath.Glob(filepath.Join(r.root, pattern))
	if !strings.Contains(pattern, "*") {
		matches = []string{filepath.Join(r.root, pattern)}
	}
	if len(matches) != 1 {
		r.t.Fatalf("doc-test write %s: %d files match", pattern, len(matches))
	}
	if err := os.WriteFile(matches[0], []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// insert puts content and a blank line before the first line of file that
// reads anchor (ignoring indentation).
func (r *docRun) insert(file, anchor, content string) {
	p := filepath.Join(r.root, file)
	b, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == anchor {
			out := strings.Join(lines[:i], "") + content + "\n" + strings.Join(lines[i:], "")
			if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
				r.t.Fatal(err)
			}
			return
		}
	}
	r.t.Fatalf("doc-test insert: %s has no line %q", file, anchor)
}
