package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// PluginsFile is the root plugins.json: which plugins are enabled. Fields
// other than enabled (version, installedAt, source, as in the original
// platform) are kept as they are.
type PluginsFile struct {
	Plugins map[string]PluginsEntry `json:"plugins"`
}

// PluginsEntry is one plugin's line in plugins.json.
type PluginsEntry struct {
	Enabled bool           `json:"enabled"`
	Extra   map[string]any `json:"-"`
}

// readJSONFile decodes a JSON file into v; a syntax or type error names the
// file, line and column. A missing file returns an error wrapping fs.ErrNotExist.
func ReadJSONFile(file, rel string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonFileError(rel, data, err)
	}
	// dec.More is false before a stray '}' or ']': look at the rest itself
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return fmt.Errorf("%s: unexpected data after the JSON value", rel)
	}
	return nil
}

// readPluginJSONFile is readJSONFile for a file of a plugin's directory,
// which must be a regular file: a symlink could make the plugin read the
// root config.json (every plugin's settings) or any file of the machine,
// as the Lua sources' loader refuses too.
func ReadPluginJSONFile(file, rel string, v any) error {
	fi, err := os.Lstat(file)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (a plugin's files may not be symlinks or devices)", rel)
	}
	return ReadJSONFile(file, rel, v)
}

func jsonFileError(rel string, data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return fmt.Errorf("%s: bad JSON: %v", rel, err)
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%s:%d:%d: bad JSON: %v", rel, line, col, err)
}

// readPluginsFile reads <root>/plugins.json. exists is false when there is none.
func ReadPluginsFile(root string) (pf PluginsFile, exists bool, err error) {
	var raw struct {
		Plugins map[string]map[string]any `json:"plugins"`
	}
	err = ReadJSONFile(filepath.Join(root, "plugins.json"), "plugins.json", &raw)
	if errors.Is(err, fs.ErrNotExist) {
		return PluginsFile{Plugins: map[string]PluginsEntry{}}, false, nil
	}
	if err != nil {
		return pf, true, err
	}
	pf.Plugins = make(map[string]PluginsEntry, len(raw.Plugins))
	for name, fields := range raw.Plugins {
		e := PluginsEntry{Extra: map[string]any{}}
		for k, v := range fields {
			if k == "enabled" {
				b, ok := v.(bool)
				if !ok {
					return pf, true, fmt.Errorf("plugins.json: plugins.%s.enabled must be true or false", name)
				}
				e.Enabled = b
				continue
			}
			e.Extra[k] = v
		}
		pf.Plugins[name] = e
	}
	return pf, true, nil
}

// readRootConfig reads <root>/config.json: {"<plugin>": {...}}. A missing
// file is an empty config.
func ReadRootConfig(root string) (map[string]map[string]any, error) {
	cfg := map[string]map[string]any{}
	err := ReadJSONFile(filepath.Join(root, "config.json"), "config.json", &cfg)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]map[string]any{}, nil
	}
	return cfg, err
}

// pluginConfig merges the plugin's own config.json defaults with the root
// config.json override (objects merged key by key, anything else replaced)
// and validates the result against admin-config.json when present.
func PluginConfig(src *luavm.Source, override map[string]any) (map[string]any, error) {
	defaultsRel := path.Join(src.RelDir, "config.json")
	defaults := map[string]any{}
	err := ReadPluginJSONFile(filepath.Join(src.Dir, "config.json"), defaultsRel, &defaults)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &errs.PluginError{Plugin: src.Name, File: defaultsRel, Op: "config", Err: stripPrefix(err, defaultsRel)}
	}
	merged := MergeConfig(defaults, override)
	if err := ValidateConfig(src, merged); err != nil {
		return nil, err
	}
	return merged, nil
}

func stripPrefix(err error, rel string) error {
	return errors.New(strings.TrimPrefix(err.Error(), rel+": "))
}

func MergeConfig(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = MergeConfig(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

// Violation is one way a config breaks its schema.
type Violation struct {
	Pointer string `json:"pointer"` // JSON pointer into the config, "" for the root
	Message string `json:"message"`
}

// ConfigError lists every schema violation of a plugin's merged config.
type ConfigError struct {
	Violations []Violation
}

func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		p := v.Pointer
		if p == "" {
			p = "/"
		}
		parts[i] = p + ": " + v.Message
	}
	return "config does not match admin-config.json: " + strings.Join(parts, "; ")
}

var schemaPrinter = message.NewPrinter(language.English)

func ValidateConfig(src *luavm.Source, cfg map[string]any) error {
	schemaRel := path.Join(src.RelDir, "admin-config.json")
	schemaFile := filepath.Join(src.Dir, "admin-config.json")
	var doc any
	err := ReadPluginJSONFile(schemaFile, schemaRel, &doc)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	fail := func(err error) error {
		return &errs.PluginError{Plugin: src.Name, File: schemaRel, Op: "config", Err: err}
	}
	if err != nil {
		return fail(stripPrefix(err, schemaRel))
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "file://" + filepath.ToSlash(schemaFile)
	if err := c.AddResource(url, doc); err != nil {
		return fail(fmt.Errorf("bad schema: %v", err))
	}
	sch, err := c.Compile(url)
	if err != nil {
		return fail(fmt.Errorf("bad schema: %v", err))
	}
	// Validate a JSON round trip of the config so every value has a JSON type.
	data, err := json.Marshal(cfg)
	if err != nil {
		return fail(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fail(err)
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return fail(err)
		}
		return fail(&ConfigError{Violations: flattenViolations(ve)})
	}
	return nil
}

func flattenViolations(ve *jsonschema.ValidationError) []Violation {
	var out []Violation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, Violation{Pointer: jsonPointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(schemaPrinter)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return out
}

func jsonPointer(loc []string) string {
	var b strings.Builder
	for _, s := range loc {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
