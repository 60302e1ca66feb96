package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"
)

// scaffoldFS holds the templates of `vbwd plugin new`.
//
//go:embed scaffold/*.tmpl
var scaffoldFS embed.FS

// newPluginNewCmd is `vbwd plugin new <name>`.
func newPluginNewCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "new <name>",
		Short: "Create plugins/<name> (routes, a module, a migration, config, schema, demo data, tests) and enable it",
		Long: "Create plugins/<name> with the full plugin layout: init.lua, a <name>/ module, a first migration\n" +
			"creating <name>_items, config.json, admin-config.json, populate.lua, tests/<name>_test.lua,\n" +
			"README.md and .luarc.json. Then enable it in plugins.json and add \"<name>\": {} to config.json.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := scaffoldPlugin(g.root, args[0], time.Now())
			if err != nil {
				return err
			}
			res.print(cmd.OutOrStdout())
			return nil
		},
	}
}

// scaffoldName is the engine's rule for plugin names (engine/plugindb.PluginName).
var scaffoldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// scaffoldData fills the templates.
type scaffoldData struct {
	Name      string // plugin name
	Prefix    string // url_prefix
	Table     string // the table of the first migration
	Migration string // the first migration's file name
}

// scaffoldFile maps a template to the file it makes, relative to the plugin.
type scaffoldFile struct{ tmpl, path string }

func scaffoldFiles(d scaffoldData) []scaffoldFile {
	return []scaffoldFile{
		{"init.lua.tmpl", "init.lua"},
		{"items.lua.tmpl", d.Name + "/items.lua"},
		{"migration.sql.tmpl", "migrations/" + d.Migration},
		{"config.json.tmpl", "config.json"},
		{"admin-config.json.tmpl", "admin-config.json"},
		{"populate.lua.tmpl", "populate.lua"},
		{"test.lua.tmpl", "tests/" + d.Name + "_test.lua"},
		{"README.md.tmpl", "README.md"},
		{"luarc.json.tmpl", ".luarc.json"},
	}
}

// scaffoldResult is what scaffoldPlugin did, root-relative.
type scaffoldResult struct {
	name, prefix  string
	files         []string
	pluginsJSON   string // what changed in plugins.json
	configChanged bool
}

func (r *scaffoldResult) print(w io.Writer) {
	for _, f := range r.files {
		fmt.Fprintln(w, "created", f)
	}
	fmt.Fprintln(w, "updated plugins.json:", r.pluginsJSON)
	if r.configChanged {
		fmt.Fprintf(w, "updated config.json: added %q: {}\n", r.name)
	}
	fmt.Fprintf(w, "\nnext: vbwd serve --populate, then curl http://127.0.0.1:8080%s/items\n", r.prefix)
}

// scaffoldPlugin creates plugins/<name> under root from the templates and
// registers it in plugins.json and config.json. The plugin directory appears
// whole (built beside it, then renamed into place) and both JSON files are
// replaced atomically; nothing is written when a check fails.
func scaffoldPlugin(root, name string, now time.Time) (*scaffoldResult, error) {
	if err := checkScaffoldName(name); err != nil {
		return nil, err
	}
	pluginsDir := filepath.Join(root, "plugins")
	if st, err := os.Stat(pluginsDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s has no plugins/ directory: run this in the engine root or pass --root", root)
	}
	dir := filepath.Join(pluginsDir, name)
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("plugins/%s already exists: choose another name, or remove the directory first", name)
	}
	d := scaffoldData{Name: name, Prefix: "/api/v1/" + name, Table: name + "_items",
		Migration: now.UTC().Format("20060102150405") + "_create_" + name + "_items.sql"}
	files, err := renderScaffold(d)
	if err != nil {
		return nil, err
	}
	// Read both JSON files first: a broken one refuses before anything is made.
	reg, err := planRegistration(root, name)
	if err != nil {
		return nil, err
	}
	if err := writeTree(root, dir, files); err != nil {
		return nil, err
	}
	if err := reg.apply(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("registering %s (plugins/%s was removed again): %w", name, name, err)
	}
	res := &scaffoldResult{name: name, prefix: d.Prefix, pluginsJSON: reg.pluginsNote, configChanged: reg.config != nil}
	for _, f := range scaffoldFiles(d) {
		res.files = append(res.files, path.Join("plugins", name, f.path))
	}
	return res, nil
}

func checkScaffoldName(name string) error {
	if !scaffoldName.MatchString(name) {
		return fmt.Errorf("bad plugin name %q: use 1-64 lower-case letters, digits and _, starting with a letter (e.g. inventory, tarot_cards)", name)
	}
	if name == "vbwd" {
		return errors.New(`bad plugin name "vbwd": require("vbwd.*") loads host modules, so a plugin cannot use that name`)
	}
	return nil
}

// renderScaffold executes every template; the result maps plugin-relative
// paths to contents.
func renderScaffold(d scaffoldData) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, f := range scaffoldFiles(d) {
		src, err := scaffoldFS.ReadFile("scaffold/" + f.tmpl)
		if err != nil {
			return nil, err
		}
		t, err := template.New(f.tmpl).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("scaffold template %s: %w", f.tmpl, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return nil, fmt.Errorf("scaffold template %s: %w", f.tmpl, err)
		}
		out[f.path] = b.Bytes()
	}
	return out, nil
}

// writeTree writes files into a temporary directory under root, then renames
// it to dir, so that a running engine never sees half a plugin.
func writeTree(root, dir string, files map[string][]byte) error {
	tmp, err := os.MkdirTemp(root, ".vbwd-new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	for rel, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return err
	}
	return os.Rename(tmp, dir)
}

// registration is the planned change of plugins.json and config.json.
type registration struct {
	root        string
	plugins     []byte // new plugins.json
	pluginsNote string
	config      []byte // new config.json, nil when unchanged
}

// planRegistration computes the new plugins.json (name enabled, every other
// entry and field kept) and config.json ("<name>": {} added when absent).
// Without a plugins.json every discovered plugin is enabled; the new file
// keeps it that way by listing them all.
func planRegistration(root, name string) (*registration, error) {
	reg := &registration{root: root}
	top, exists, err := readObject(filepath.Join(root, "plugins.json"), "plugins.json")
	if err != nil {
		return nil, err
	}
	plugins := map[string]map[string]json.RawMessage{}
	if raw, ok := top["plugins"]; ok {
		if err := json.Unmarshal(raw, &plugins); err != nil || plugins == nil {
			return nil, errors.New(`plugins.json: "plugins" must be an object of {"<name>": {"enabled": true|false}}`)
		}
	}
	reg.pluginsNote = name + " enabled"
	if !exists {
		others, err := discoveredPlugins(root)
		if err != nil {
			return nil, err
		}
		for _, n := range others {
			plugins[n] = map[string]json.RawMessage{"enabled": json.RawMessage("true")}
		}
		reg.pluginsNote = fmt.Sprintf("created, enabling %s (every plugin was enabled without the file)", strings.Join(append(others, name), ", "))
	}
	if plugins[name] == nil {
		plugins[name] = map[string]json.RawMessage{}
	}
	plugins[name]["enabled"] = json.RawMessage("true")
	if top["plugins"], err = json.Marshal(plugins); err != nil {
		return nil, err
	}
	if reg.plugins, err = encodeObject(top); err != nil {
		return nil, err
	}
	cfg, _, err := readObject(filepath.Join(root, "config.json"), "config.json")
	if err != nil {
		return nil, err
	}
	if _, ok := cfg[name]; !ok {
		cfg[name] = json.RawMessage("{}")
		if reg.config, err = encodeObject(cfg); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

func (r *registration) apply() error {
	if err := writeAtomic(filepath.Join(r.root, "plugins.json"), r.plugins); err != nil {
		return err
	}
	if r.config == nil {
		return nil
	}
	return writeAtomic(filepath.Join(r.root, "config.json"), r.config)
}

// readObject reads a JSON object file; a missing file is an empty object
// (and exists is false).
func readObject(file, rel string) (obj map[string]json.RawMessage, exists bool, err error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]json.RawMessage{}, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, true, fmt.Errorf("%s: %w (fix the file, then run this again)", rel, err)
	}
	if obj == nil { // the file holds null
		obj = map[string]json.RawMessage{}
	}
	return obj, true, nil
}

// encodeObject writes obj indented by two spaces, keys sorted, with a final
// newline.
func encodeObject(obj map[string]json.RawMessage) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeAtomic replaces file with data through a temp file in the same
// directory and a rename: readers see the old file or the new one. The
// file's mode is kept (0644 for a new file).
func writeAtomic(file string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// discoveredPlugins lists the directories under plugins/ with an init.lua,
// as the engine discovers them.
func discoveredPlugins(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "plugins"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, "plugins", e.Name(), "init.lua")); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
