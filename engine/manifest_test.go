package engine

import (
	"strings"
	"testing"
)

func TestManifest_Errors(t *testing.T) {
	good := pluginSrc("good", "", `function P.routes(r) r:get("/", function() return 200, {ok = true} end) end`)
	tests := []struct {
		name  string
		files files
		file  string // error must name this file
		want  []string
	}{
		{"missing name", files{"plugins/p/init.lua": `return { version = "1.0.0" }`},
			"plugins/p/init.lua", []string{"plugin p", "name is missing"}},
		{"name differs from directory", files{"plugins/p/init.lua": `return { name = "q", version = "1.0.0" }`},
			"plugins/p/init.lua", []string{`name "q" does not match the plugin directory "p"`}},
		{"bad version", files{"plugins/p/init.lua": `return { name = "p", version = "one" }`},
			"plugins/p/init.lua", []string{`version "one" is not semver`}},
		{"missing version", files{"plugins/p/init.lua": `return { name = "p" }`},
			"plugins/p/init.lua", []string{"version is missing"}},
		{"not a table", files{"plugins/p/init.lua": `return 42`},
			"plugins/p/init.lua", []string{"must return the plugin table, got number"}},
		{"syntax error", files{"plugins/p/init.lua": "local P = {\n name = \"p\",\n version = \n}\nreturn P"},
			"plugins/p/init.lua", []string{"syntax error"}},
		{"runtime error at load", files{"plugins/p/init.lua": "local x = nil\nlocal y = x.field\nreturn {}"},
			"plugins/p/init.lua", []string{"plugins/p/init.lua:2", "attempt to index"}},
		{"bad dependency", files{"plugins/p/init.lua": `return { name = "p", version = "1.0.0", dependencies = {"x@>>1"} }`},
			"plugins/p/init.lua", []string{"bad version range"}},
		{"routes without prefix", files{"plugins/p/init.lua": `return { name = "p", version = "1.0.0", routes = function() end }`},
			"plugins/p/init.lua", []string{"url_prefix is required"}},
		{"reserved prefix", files{"plugins/p/init.lua": `return { name = "p", version = "1.0.0", url_prefix = "/admin/p" }`},
			"plugins/p/init.lua", []string{"overlaps the engine's /admin"}},
		{"bad JSON config", files{"plugins/p/init.lua": pluginSrc("p", "", ""), "plugins/p/config.json": "{\n  \"a\": 1,\n}"},
			"plugins/p/config.json", []string{"plugin p", "plugins/p/config.json", "bad JSON"}},
		{"schema violation", files{
			"plugins/p/init.lua":          pluginSrc("p", "", ""),
			"plugins/p/config.json":       `{"limit": "three", "extra": 1}`,
			"plugins/p/admin-config.json": `{"type": "object", "properties": {"limit": {"type": "integer"}}, "additionalProperties": false}`},
			"plugins/p/admin-config.json", []string{"plugin p", "/limit", "integer", "extra"}},
		{"root override violates schema", files{
			"plugins/p/init.lua":          pluginSrc("p", "", ""),
			"plugins/p/config.json":       `{"limit": 3}`,
			"plugins/p/admin-config.json": `{"type": "object", "properties": {"limit": {"type": "integer", "maximum": 5}}}`,
			"config.json":                 `{"p": {"limit": 50}}`},
			"plugins/p/admin-config.json", []string{"/limit", "maximum"}},
		{"initialize error", files{"plugins/p/init.lua": pluginSrc("p", "", "function P.initialize(c)\n  error('no way')\nend")},
			"plugins/p/init.lua", []string{"plugins/p/init.lua:3", "no way"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := files{"plugins/good/init.lua": good}
			for k, v := range tt.files {
				fs[k] = v
			}
			te := startEngine(t, writeRoot(t, fs), nil)
			st := te.status(t, "p")
			if st.State != StateFailed {
				t.Fatalf("state = %s, want failed", st.State)
			}
			if st.ErrorFile != tt.file {
				t.Errorf("error file = %q, want %q (error: %s)", st.ErrorFile, tt.file, st.Error)
			}
			for _, w := range append(tt.want, "plugin p") {
				if !strings.Contains(st.Error, w) {
					t.Errorf("error %q does not mention %q", st.Error, w)
				}
			}
			// The other plugin is unaffected.
			if got := te.status(t, "good").State; got != StateEnabled {
				t.Errorf("good plugin is %s, want enabled", got)
			}
			if r := te.do(t, "GET", "/api/good/", ""); r.status != 200 {
				t.Errorf("good plugin answers %d", r.status)
			}
		})
	}
}

func TestManifest_ReadsFields(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/a/init.lua": `return { name = "a", version = "26.6.1", description = "A", author = "me",
			dependencies = { "b@>=1.2 <2", "c" } }`,
		"plugins/b/init.lua": `return { name = "b", version = "1.4.0" }`,
		"plugins/c/init.lua": `return { name = "c", version = "0.1.0" }`,
	})
	te := startEngine(t, root, nil)
	st := te.status(t, "a")
	if st.State != StateEnabled || st.Version != "26.6.1" || st.Description != "A" {
		t.Fatalf("status = %+v", st)
	}
	if got := strings.Join(st.Dependencies, ","); got != "b@>=1.2 <2,c" {
		t.Errorf("dependencies = %s", got)
	}
	if len(st.Hash) != 64 {
		t.Errorf("hash = %q", st.Hash)
	}
}

func TestParseDependency(t *testing.T) {
	tests := []struct {
		in, name, rng string
		ok            bool
	}{
		{"email", "email", "", true},
		{"email@>=26.7", "email", ">=26.7", true},
		{"subscription@^1.0", "subscription", "^1.0", true},
		{" x @ ~1.2 ", "x", "~1.2", true},
		{"Email", "", "", false},
		{"email@not a range", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		d, err := ParseDependency(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v", tt.in, err)
			continue
		}
		if tt.ok && (d.Name != tt.name || d.Range != tt.rng) {
			t.Errorf("%q: got %q %q", tt.in, d.Name, d.Range)
		}
	}
}
