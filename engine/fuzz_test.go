package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/go-chi/chi/v5"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	lua "github.com/yuin/gopher-lua"
)

// Fuzz targets for what a plugin author or an operator hands the engine:
// the manifest, the root JSON files, config and schema, route patterns.
// `make fuzz-short` runs each for a few seconds; seeds are below and in
// testdata/fuzz/<target>/.

// FuzzManifest feeds parseManifest a plugin table built from the fuzzed
// fields: it must either accept a manifest that holds the engine's rules or
// refuse it with a PluginError naming the plugin and its init.lua.
func FuzzManifest(f *testing.F) {
	for _, s := range []struct {
		name, version, prefix, deps string
		routes                      bool
	}{
		{"fz", "1.0.0", "/api/v1/fz", "", true},
		{"fz", "26.6.1", "", "victim@^1.0\nbilling@>=26.7", false},
		{"fz", "1.0.0-rc.1+build.5", "/api/fz", "a@~1.2.3 || 2.x", true},
		{"fz", "1.0", "/admin", "", true},
		{"fz", "1.0.0", "/api/../admin", "fz", true},
		{"fz", "1.0.0", "/metrics/x", "a@>>>1", true},
		{"vbwd", "1.0.0", "/", "a\na", true},
		{"fz", "01.0.0", "/api/x\r\nX: y", " a @ ^1 ", false},
	} {
		f.Add(s.name, s.version, s.prefix, s.deps, s.routes)
	}
	f.Fuzz(func(t *testing.T, name, version, prefix, deps string, routes bool) {
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		defer L.Close()
		tbl := L.NewTable()
		tbl.RawSetString("name", lua.LString(name))
		tbl.RawSetString("version", lua.LString(version))
		if prefix != "" {
			tbl.RawSetString("url_prefix", lua.LString(prefix))
		}
		var lines []string
		if deps != "" {
			lines = strings.Split(deps, "\n")
			list := L.NewTable()
			for _, d := range lines {
				list.Append(lua.LString(d))
			}
			tbl.RawSetString("dependencies", list)
		}
		if routes {
			tbl.RawSetString("routes", L.NewFunction(func(*lua.LState) int { return 0 }))
		}
		src := &luavm.Source{Name: "fz", RelDir: "plugins/fz"}
		m, err := spec.ParseManifest(src, tbl)
		if err != nil {
			var pe *PluginError
			if !errors.As(err, &pe) || pe.Plugin != "fz" || pe.File != "plugins/fz/init.lua" || pe.Op != "manifest" {
				t.Fatalf("refusal %v (%T) does not name the plugin and its init.lua", err, err)
			}
			return
		}
		if m.Name != "fz" || m.Version != version || m.URLPrefix != prefix || m.HasRoutes != routes {
			t.Fatalf("manifest %+v does not hold what was given", m)
		}
		if _, err := semver.StrictNewVersion(version); err != nil {
			t.Fatalf("version %q accepted: %v", version, err)
		}
		if routes && prefix == "" {
			t.Fatalf("routes accepted without a url_prefix")
		}
		if prefix != "" {
			if !strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") || strings.Contains(prefix, "//") ||
				strings.ContainsAny(prefix, "\r\n\t {}*?#%\\") {
				t.Fatalf("url_prefix %q accepted", prefix)
			}
			for _, r := range spec.ReservedPrefix {
				if spec.PrefixesOverlap(prefix, r) {
					t.Fatalf("url_prefix %q accepted over the engine's %s", prefix, r)
				}
			}
		}
		if len(m.Dependencies) != len(lines) {
			t.Fatalf("%d dependencies from %d lines", len(m.Dependencies), len(lines))
		}
		seen := map[string]bool{}
		for _, d := range m.Dependencies {
			if !plugindb.PluginName.MatchString(d.Name) || seen[d.Name] {
				t.Fatalf("dependency %q accepted (twice: %v)", d.Name, seen[d.Name])
			}
			seen[d.Name] = true
		}
	})
}

// FuzzRootJSON writes fuzzed plugins.json and config.json into a root and
// reads them as the engine does: a refusal names the file; well-formed
// files are accepted with every plugin they list.
func FuzzRootJSON(f *testing.F) {
	for _, s := range [][2]string{
		{`{"plugins": {"hello": {"enabled": true, "version": "1.0.0"}}}`, `{"hello": {"greeting": "Hi"}, "vbwd": {"roles": {"editor": ["notes.*"]}}}`},
		{`{"plugins": {"a": {"enabled": "yes"}}}`, `[]`},
		{`{"plugins": null}`, `null`},
		{`{"plugins": {"a": {}}} {}`, `{"a": 1}`},
		{"{\"plugins\": {\"\xff\": {\"enabled\": false}}}", `{"a": {"b": {"c": [1, 2, {"d": null}]}}}`},
		{`{"plugins": {"a": {"enabled": true}}, "plugins": {}}`, `{"x": 1e400}`},
		{``, `{`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	root := f.TempDir()
	strict := os.Getenv("VBWD_HOSTILE_PENDING") != "0"
	f.Fuzz(func(t *testing.T, pluginsJSON, configJSON []byte) {
		// readJSONFile accepts a value followed by a stray ] or } (json.Decoder.More
		// is false there): a known engine bug, a failure here only in strict mode.
		if !strict && (strayCloser(pluginsJSON) || strayCloser(configJSON)) {
			return
		}
		fuzzWrite(t, filepath.Join(root, "plugins.json"), pluginsJSON)
		fuzzWrite(t, filepath.Join(root, "config.json"), configJSON)

		pf, exists, err := spec.ReadPluginsFile(root)
		if !exists {
			t.Fatalf("plugins.json exists but was not seen")
		}
		var raw struct {
			Plugins map[string]map[string]any `json:"plugins"`
		}
		wellFormed := json.Valid(pluginsJSON) && json.Unmarshal(pluginsJSON, &raw) == nil
		for _, fields := range raw.Plugins {
			if v, ok := fields["enabled"]; ok {
				if _, isBool := v.(bool); !isBool {
					wellFormed = false
				}
			}
		}
		switch {
		case err != nil && !strings.HasPrefix(err.Error(), "plugins.json"):
			t.Fatalf("refusal %q does not name plugins.json", err)
		case err != nil && wellFormed:
			t.Fatalf("well-formed plugins.json %q refused: %v", pluginsJSON, err)
		case err == nil && !wellFormed:
			t.Fatalf("malformed plugins.json %q accepted", pluginsJSON)
		case err == nil:
			for name, fields := range raw.Plugins {
				got, ok := pf.Plugins[name]
				if !ok || got.Enabled != (fields["enabled"] == true) {
					t.Fatalf("plugin %q: %+v, listed as %v", name, got, fields)
				}
			}
		}

		cfg, err := spec.ReadRootConfig(root)
		var rawCfg map[string]map[string]any
		cfgOK := json.Valid(configJSON) && json.Unmarshal(configJSON, &rawCfg) == nil
		switch {
		case err != nil && !strings.HasPrefix(err.Error(), "config.json"):
			t.Fatalf("refusal %q does not name config.json", err)
		case (err == nil) != cfgOK:
			t.Fatalf("config.json %q: accepted %v, well-formed %v (%v)", configJSON, err == nil, cfgOK, err)
		case err == nil && len(cfg) != len(rawCfg):
			t.Fatalf("config.json %q: %d sections, want %d", configJSON, len(cfg), len(rawCfg))
		}
	})
}

// strayCloser reports a JSON value followed by ] or }.
func strayCloser(data []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	var v any
	if dec.Decode(&v) != nil {
		return false
	}
	rest := strings.TrimSpace(string(data[dec.InputOffset():]))
	return strings.HasPrefix(rest, "]") || strings.HasPrefix(rest, "}")
}

// FuzzConfig merges fuzzed defaults and overrides and validates the result
// against a fuzzed schema: the merge keeps every override and every default
// not overridden, is idempotent and leaves its inputs alone; validation
// answers the same twice and refuses with a PluginError naming the schema.
func FuzzConfig(f *testing.F) {
	for _, s := range [][3]string{
		{`{"greeting": "Hello", "max": 40}`, `{"greeting": "Hi"}`, `{"type": "object", "properties": {"max": {"type": "integer", "maximum": 64}}}`},
		{`{"a": {"b": 1, "c": [1]}}`, `{"a": {"c": {"d": 2}}}`, `{"type": "object", "required": ["a"], "additionalProperties": false}`},
		{`{"a": 1}`, `{"a": null}`, `{"$ref": "#/$defs/x", "$defs": {"x": {"type": "object"}}}`},
		{`{}`, `{"x": "\u0000"}`, `{"type": 5}`},
		{`{"a": {"a": {"a": {}}}}`, `{"a": {"a": 1}}`, `{"properties": {"a": {"pattern": "(a+)+$"}}}`},
		{`{"p": "x"}`, `{}`, `{"$ref": "file:///etc/passwd"}`},
		{`{}`, `{}`, ``},
	} {
		f.Add([]byte(s[0]), []byte(s[1]), []byte(s[2]))
	}
	root := f.TempDir()
	src := &luavm.Source{Name: "fz", Dir: filepath.Join(root, "plugins", "fz"), RelDir: "plugins/fz"}
	if err := os.MkdirAll(src.Dir, 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, defaults, override, schema []byte) {
		if strings.Contains(string(schema), "file:") && !strings.Contains(string(schema), "file:///etc/passwd") {
			return // a $ref to a file the fuzzer names could be a device or a FIFO
		}
		var base, over map[string]any
		if json.Unmarshal(defaults, &base) != nil || json.Unmarshal(override, &over) != nil {
			return
		}
		var baseCopy map[string]any
		_ = json.Unmarshal(defaults, &baseCopy)
		merged := spec.MergeConfig(base, over)
		checkMerge(t, "$", base, over, merged)
		if again := spec.MergeConfig(merged, over); !reflect.DeepEqual(again, merged) {
			t.Fatalf("merge is not idempotent: %v then %v", merged, again)
		}
		if !reflect.DeepEqual(base, baseCopy) {
			t.Fatalf("merge changed the defaults: %v, was %v", base, baseCopy)
		}

		schemaFile := filepath.Join(src.Dir, "admin-config.json")
		if len(schema) == 0 {
			_ = os.Remove(schemaFile)
		} else {
			fuzzWrite(t, schemaFile, schema)
		}
		err1, err2 := spec.ValidateConfig(src, merged), spec.ValidateConfig(src, merged)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("validation is not deterministic: %v then %v", err1, err2)
		}
		if err1 != nil {
			var pe *PluginError
			if !errors.As(err1, &pe) || pe.Plugin != "fz" || pe.File != "plugins/fz/admin-config.json" {
				t.Fatalf("refusal %v (%T) does not name the plugin's admin-config.json", err1, err1)
			}
			if len(schema) == 0 {
				t.Fatalf("no schema, yet refused: %v", err1)
			}
		}
	})
}

// checkMerge: overrides win (objects merged key by key), defaults not
// overridden stay, nothing else appears.
func checkMerge(t *testing.T, path string, base, over, merged map[string]any) {
	t.Helper()
	for k, ov := range over {
		bm, ok1 := base[k].(map[string]any)
		om, ok2 := ov.(map[string]any)
		if ok1 && ok2 {
			mm, ok := merged[k].(map[string]any)
			if !ok {
				t.Fatalf("%s.%s: objects merged into %T", path, k, merged[k])
			}
			checkMerge(t, path+"."+k, bm, om, mm)
			continue
		}
		if !reflect.DeepEqual(merged[k], ov) {
			t.Fatalf("%s.%s = %v, the override is %v", path, k, merged[k], ov)
		}
	}
	for k, bv := range base {
		if _, ok := over[k]; !ok && !reflect.DeepEqual(merged[k], bv) {
			t.Fatalf("%s.%s = %v, the default is %v", path, k, merged[k], bv)
		}
	}
	for k := range merged {
		_, inBase := base[k]
		_, inOver := over[k]
		if !inBase && !inOver {
			t.Fatalf("%s.%s appeared from nowhere", path, k)
		}
	}
}

// FuzzRoutePattern registers a fuzzed route path through routes(r), as a
// plugin does, then mounts what was accepted on a chi router as the
// engine's buildRouter does. Registration refuses with a Lua error, never
// a Go panic; an accepted path starts with / and has balanced braces. chi
// still panics on some accepted paths ({a}/{a}, /*/x, {id:[}), which fails
// the whole router (hostile_pending_test.go); with VBWD_HOSTILE_PENDING=1
// that is a failure here too.
func FuzzRoutePattern(f *testing.F) {
	for _, p := range []string{"/", "/cards/{id}", "/files/*", "/{id:[0-9]+}/x", "/{a}/{a}", "/*/x",
		"/{id:[}", "/../victim", "/{", "x", "/a b", "/{x}}", "/{*}", "/%2e%2e/"} {
		f.Add(p, uint8(0))
	}
	strict := os.Getenv("VBWD_HOSTILE_PENDING") != "0"
	f.Fuzz(func(t *testing.T, path string, m uint8) {
		method := registry.RouteMethods[int(m)%len(registry.RouteMethods)]
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		defer L.Close()
		rc := &registry.Recorder{}
		r := rc.RouterTable(L)
		err := L.CallByParam(lua.P{Fn: r.RawGetString(strings.ToLower(method)), NRet: 0, Protect: true},
			r, lua.LString(path), L.NewFunction(func(*lua.LState) int { return 0 }))
		if err != nil {
			var api *lua.ApiError
			if !errors.As(err, &api) {
				t.Fatalf("refusal of %q is not a Lua error: %v", path, err)
			}
			return
		}
		if len(rc.Routes) != 1 || rc.Routes[0].Path != path || rc.Routes[0].Method != method {
			t.Fatalf("registered %+v for %s %q", rc.Routes, method, path)
		}
		if !strings.HasPrefix(path, "/") || strings.Count(path, "{") != strings.Count(path, "}") {
			t.Fatalf("route path %q accepted", path)
		}
		if p := mountLikeBuildRouter("/api/fz", method, path); p != nil && strict {
			t.Fatalf("route %s %q accepted by routes(r) but chi refuses it: %v", method, path, p)
		}
	})
}

// mountLikeBuildRouter mounts one route as buildRouter does and returns
// chi's panic, if any.
func mountLikeBuildRouter(prefix, method, path string) (p any) {
	defer func() { p = recover() }()
	mux := chi.NewRouter()
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Method(method, prefix+path, h)
	if path == "/" {
		mux.Method(method, prefix, h)
	}
	return nil
}

func fuzzWrite(t *testing.T, file string, data []byte) {
	t.Helper()
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(fmt.Errorf("fuzz setup: %w", err))
	}
}
