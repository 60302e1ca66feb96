package luavm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// pluginSource is one snapshot of a plugin's Lua code, read from disk in one
// pass: init.lua and every module under <name>/ compiled once, shared by
// every state of the generations built from it (gopher-lua protos are
// immutable). Nothing is read from disk later, so a generation is always
// built from one consistent set of files, even while they are being edited.
type Source struct {
	Name    string // directory name
	Dir     string // absolute plugin directory
	RelDir  string // plugins/<name>, used in chunk names and errors
	Entry   *lua.FunctionProto
	modules map[string]*lua.FunctionProto // by module name: "<name>.a.b"
	Hash    string                        // sha256 over the plugin's files
}

var moduleSegment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// loadSource reads a plugin directory once: it hashes every file and
// compiles init.lua and the modules under <name>/.
func LoadSource(root, name string) (*Source, error) {
	src := &Source{
		Name:    name,
		Dir:     filepath.Join(root, "plugins", name),
		RelDir:  path.Join("plugins", name),
		modules: map[string]*lua.FunctionProto{},
	}
	files, hash, err := snapshotDir(src.Dir)
	if err != nil {
		return nil, &errs.PluginError{Plugin: name, File: src.RelDir, Op: "read", Err: err}
	}
	src.Hash = hash
	code, ok := files["init.lua"]
	if !ok {
		return nil, &errs.PluginError{Plugin: name, File: path.Join(src.RelDir, "init.lua"), Op: "read", Err: fs.ErrNotExist}
	}
	if src.Entry, err = compileChunk(name, code, path.Join(src.RelDir, "init.lua")); err != nil {
		return nil, err
	}
	for rel, code := range files {
		modname, ok := moduleName(name, rel)
		if !ok {
			continue
		}
		proto, err := compileChunk(name, code, path.Join(src.RelDir, rel))
		if err != nil {
			return nil, err
		}
		src.modules[modname] = proto
	}
	return src, nil
}

// moduleName maps <name>/a/b.lua and <name>/a/b/init.lua to "<name>.a.b".
func moduleName(plugin, rel string) (string, bool) {
	if !strings.HasPrefix(rel, plugin+"/") || !strings.HasSuffix(rel, ".lua") {
		return "", false
	}
	segs := strings.Split(strings.TrimSuffix(rel, ".lua"), "/")
	if len(segs) > 2 && segs[len(segs)-1] == "init" {
		segs = segs[:len(segs)-1]
	}
	for _, seg := range segs {
		if !moduleSegment.MatchString(seg) {
			return "", false
		}
	}
	return strings.Join(segs, "."), true
}

// compileFile reads and compiles one Lua file; chunk is the name used in
// error messages and tracebacks (the root-relative path).
func CompileFile(plugin, file, chunk string) (*lua.FunctionProto, error) {
	code, err := os.ReadFile(file)
	if err != nil {
		return nil, &errs.PluginError{Plugin: plugin, File: chunk, Op: "read", Err: err}
	}
	return compileChunk(plugin, code, chunk)
}

func compileChunk(plugin string, code []byte, chunk string) (*lua.FunctionProto, error) {
	stmts, err := parse.Parse(bytes.NewReader(code), chunk)
	if err != nil {
		return nil, errs.ParseErrorToPlugin(plugin, chunk, err)
	}
	proto, err := lua.Compile(stmts, chunk)
	if err != nil {
		return nil, &errs.PluginError{Plugin: plugin, File: chunk, Op: "compile", Err: err}
	}
	return proto, nil
}

// module returns the compiled proto of a plugin module.
func (s *Source) module(modname string) (*lua.FunctionProto, error) {
	for _, seg := range strings.Split(modname, ".") {
		if !moduleSegment.MatchString(seg) {
			return nil, fmt.Errorf("require(%q): bad module name segment %q", modname, seg)
		}
	}
	if p, ok := s.modules[modname]; ok {
		return p, nil
	}
	rel := path.Join(strings.Split(modname, ".")...)
	return nil, fmt.Errorf("require(%q): module not found (no %s.lua or %s/init.lua)",
		modname, path.Join(s.RelDir, rel), path.Join(s.RelDir, rel))
}

// snapshotDir reads every regular file under dir (skipping hidden entries)
// and hashes their names and contents in a stable order. It returns the Lua
// files' contents by slash-separated relative path.
func snapshotDir(dir string) (map[string][]byte, string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	sort.Strings(paths)
	h := sha256.New()
	lua := map[string][]byte{}
	for _, f := range paths {
		rel, _ := filepath.Rel(dir, f)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(data))
		h.Write(data)
		if strings.HasSuffix(rel, ".lua") {
			lua[rel] = data
		}
	}
	return lua, hex.EncodeToString(h.Sum(nil)), nil
}

func sortStrings(s []string) { sort.Strings(s) }
