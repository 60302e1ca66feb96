package spec

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
	"github.com/vbwd-platform/vbwd-engine/hostapi"
	lua "github.com/yuin/gopher-lua"
	"log/slog"
)

// Manifest is the metadata a plugin's init.lua returns.
type Manifest struct {
	Name         string
	Version      string
	Description  string
	Author       string
	URLPrefix    string
	Dependencies []Dependency
	HasRoutes    bool
	// Extensions are PostgreSQL extensions the plugin's migrations need;
	// the engine creates them (trusted ones only, engine/plugindb/dbupgrade.go).
	Extensions []string
	// MemoryLimit is what one call may allocate (memory_limit_mb, in
	// bytes); 0: the engine's default.
	MemoryLimit int64

	Semver       *semver.Version
	HasOnDisable bool
}

// Dependency is one entry of a manifest's dependencies: "name" or
// "name@<semver range>".
type Dependency struct {
	Name  string
	Range string // "" when any version will do
	cons  *semver.Constraints
}

func (d Dependency) String() string {
	if d.Range == "" {
		return d.Name
	}
	return d.Name + "@" + d.Range
}

// Allows reports whether version v satisfies the dependency's range.
func (d Dependency) Allows(v *semver.Version) bool {
	return d.cons == nil || d.cons.Check(v)
}

var (
	pluginName     = plugindb.PluginName
	prefixSegment  = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	ReservedPrefix = []string{"/admin", "/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json", "/stream-tickets"}
)

// readManifest runs init.lua in a throwaway sandboxed state and reads the
// returned plugin table. The manifest's memory_limit_mb is not known yet:
// init.lua runs under budget, the engine's default.
func ReadManifest(ctx context.Context, src *luavm.Source, mods map[string]hostapi.Module, logger *slog.Logger, budget int64) (*Manifest, error) {
	L := luavm.NewSandbox(src, mods, logger)
	defer L.Close()
	done := luavm.ArmCall(L, src.Name, budget)
	L.SetContext(ctx)
	tbl, err := RunEntry(ctx, L, src)
	L.RemoveContext()
	if err = done(err); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return ParseManifest(src, tbl)
}

// runEntry calls the compiled init.lua in L and returns the plugin table.
func RunEntry(ctx context.Context, L *lua.LState, src *luavm.Source) (*lua.LTable, error) {
	if L.Context() == nil { // set by the caller when it armed a memory budget
		L.SetContext(ctx)
		defer L.RemoveContext()
	}
	L.Push(L.NewFunctionFromProto(src.Entry))
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, luavm.WithCtxErr(ctx, errs.NormalizeLuaError(src.Name, "load", err))
	}
	v := L.Get(-1)
	L.Pop(1)
	tbl, ok := v.(*lua.LTable)
	if !ok {
		return nil, &errs.PluginError{Plugin: src.Name, File: path.Join(src.RelDir, "init.lua"), Op: "load",
			Err: fmt.Errorf("init.lua must return the plugin table, got %s", v.Type())}
	}
	return tbl, nil
}

func ParseManifest(src *luavm.Source, t *lua.LTable) (*Manifest, error) {
	file := path.Join(src.RelDir, "init.lua")
	fail := func(format string, args ...any) error {
		return &errs.PluginError{Plugin: src.Name, File: file, Op: "manifest", Err: fmt.Errorf(format, args...)}
	}
	str := func(key string) (string, error) {
		switch v := t.RawGetString(key).(type) {
		case *lua.LNilType:
			return "", nil
		case lua.LString:
			return string(v), nil
		default:
			return "", fail("%s must be a string, got %s", key, v.Type())
		}
	}
	m := &Manifest{}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &m.Name}, {"version", &m.Version}, {"description", &m.Description},
		{"author", &m.Author}, {"url_prefix", &m.URLPrefix}} {
		if *f.dst, err = str(f.key); err != nil {
			return nil, err
		}
	}
	switch {
	case m.Name == "":
		return nil, fail("name is missing")
	case m.Name != src.Name:
		return nil, fail("name %q does not match the plugin directory %q", m.Name, src.Name)
	case !pluginName.MatchString(m.Name):
		return nil, fail("name %q must be lower-case letters, digits and _ starting with a letter", m.Name)
	case m.Name == EngineConfigKey:
		return nil, fail("name %q is reserved for the engine", m.Name)
	case m.Version == "":
		return nil, fail("version is missing")
	}
	if m.Semver, err = semver.StrictNewVersion(m.Version); err != nil {
		return nil, fail("version %q is not semver (MAJOR.MINOR.PATCH): %v", m.Version, err)
	}
	if m.Dependencies, err = parseDependencies(t.RawGetString("dependencies")); err != nil {
		return nil, fail("%v", err)
	}
	if m.Extensions, err = parseExtensions(t.RawGetString("extensions")); err != nil {
		return nil, fail("%v", err)
	}
	for _, fn := range []string{"initialize", "routes", "on_enable", "on_disable"} {
		v := t.RawGetString(fn)
		if v != lua.LNil && v.Type() != lua.LTFunction {
			return nil, fail("%s must be a function, got %s", fn, v.Type())
		}
	}
	if m.MemoryLimit, err = memoryLimitMB(t.RawGetString("memory_limit_mb")); err != nil {
		return nil, fail("%v", err)
	}
	m.HasRoutes = t.RawGetString("routes") != lua.LNil
	m.HasOnDisable = t.RawGetString("on_disable") != lua.LNil
	if err := checkPrefix(m.URLPrefix, m.HasRoutes); err != nil {
		return nil, fail("%v", err)
	}
	return m, nil
}

// memoryLimitMB reads memory_limit_mb: a whole number of MiB, 1 to 4096.
func memoryLimitMB(v lua.LValue) (int64, error) {
	if v == lua.LNil {
		return 0, nil
	}
	n, ok := v.(lua.LNumber)
	if !ok || n != lua.LNumber(int64(n)) || n < 1 || n > 4096 {
		return 0, fmt.Errorf("memory_limit_mb must be a whole number of MiB from 1 to 4096, got %s", v.String())
	}
	return int64(n) << 20, nil
}

func parseDependencies(v lua.LValue) ([]Dependency, error) {
	if v == lua.LNil {
		return nil, nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("dependencies must be a list of strings, got %s", v.Type())
	}
	var deps []Dependency
	seen := map[string]bool{}
	for i := 1; i <= t.Len(); i++ {
		s, ok := t.RawGetInt(i).(lua.LString)
		if !ok {
			return nil, fmt.Errorf("dependencies[%d] must be a string", i)
		}
		d, err := ParseDependency(string(s))
		if err != nil {
			return nil, fmt.Errorf("dependencies[%d]: %w", i, err)
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("dependencies[%d]: %s is listed twice", i, d.Name)
		}
		seen[d.Name] = true
		deps = append(deps, d)
	}
	return deps, nil
}

// parseExtensions reads extensions = {"btree_gist", ...}.
func parseExtensions(v lua.LValue) ([]string, error) {
	if v == lua.LNil {
		return nil, nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("extensions must be a list of strings, got %s", v.Type())
	}
	var out []string
	for i := 1; i <= t.Len(); i++ {
		s, ok := t.RawGetInt(i).(lua.LString)
		if !ok || !plugindb.ExtensionName.MatchString(string(s)) {
			return nil, fmt.Errorf("extensions[%d] must be a PostgreSQL extension name (lower-case letters, digits, _ and -)", i)
		}
		out = append(out, string(s))
	}
	return out, nil
}

// ParseDependency parses "name" or "name@<range>" (a Masterminds semver
// constraint such as ^1.2, >=26.7, ~1.0.3 || 2.x).
func ParseDependency(s string) (Dependency, error) {
	name, rng, _ := strings.Cut(strings.TrimSpace(s), "@")
	name, rng = strings.TrimSpace(name), strings.TrimSpace(rng)
	if !pluginName.MatchString(name) {
		return Dependency{}, fmt.Errorf("%q: bad plugin name %q", s, name)
	}
	d := Dependency{Name: name, Range: rng}
	if rng != "" {
		c, err := semver.NewConstraint(rng)
		if err != nil {
			return Dependency{}, fmt.Errorf("%q: bad version range: %v", s, err)
		}
		d.cons = c
	}
	return d, nil
}

func checkPrefix(p string, hasRoutes bool) error {
	if p == "" {
		if hasRoutes {
			return errors.New("url_prefix is required when the plugin defines routes")
		}
		return nil
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || len(p) < 2 {
		return fmt.Errorf("url_prefix %q must start with / and not end with /", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if !prefixSegment.MatchString(seg) {
			return fmt.Errorf("url_prefix %q: segment %q may hold only letters, digits and . _ ~ -", p, seg)
		}
		if seg == "." || seg == ".." {
			// request paths are cleaned before routing: such a prefix
			// could never be reached, or would reach another's
			return fmt.Errorf("url_prefix %q: a segment may not be %q", p, seg)
		}
	}
	for _, r := range ReservedPrefix {
		if PrefixesOverlap(p, r) {
			return fmt.Errorf("url_prefix %q overlaps the engine's %s", p, r)
		}
	}
	return nil
}

// prefixesOverlap reports whether one prefix equals or contains the other on
// a path-segment boundary.
func PrefixesOverlap(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || strings.HasPrefix(b, a+"/")
}
