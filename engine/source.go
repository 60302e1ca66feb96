package engine

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
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// pluginSource is one snapshot of a plugin's Lua code: init.lua compiled once,
// and its modules compiled once on first require, shared by every state of
// the generations built from it (gopher-lua protos are immutable).
type pluginSource struct {
	name   string // directory name
	dir    string // absolute plugin directory
	relDir string // plugins/<name>, used in chunk names and errors
	entry  *lua.FunctionProto
	hash   string // sha256 over the plugin's files

	mu     sync.Mutex
	protos map[string]protoResult // by module name
}

type protoResult struct {
	proto *lua.FunctionProto
	err   error
}

var moduleSegment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// loadSource compiles plugins/<name>/init.lua and hashes the plugin's files.
func loadSource(root, name string) (*pluginSource, error) {
	src := &pluginSource{
		name:   name,
		dir:    filepath.Join(root, "plugins", name),
		relDir: path.Join("plugins", name),
		protos: map[string]protoResult{},
	}
	proto, err := compileFile(name, filepath.Join(src.dir, "init.lua"), path.Join(src.relDir, "init.lua"))
	if err != nil {
		return nil, err
	}
	src.entry = proto
	if src.hash, err = hashDir(src.dir); err != nil {
		return nil, &PluginError{Plugin: name, File: src.relDir, Op: "hash", Err: err}
	}
	return src, nil
}

// compileFile parses and compiles one Lua file; chunk is the name used in
// error messages and tracebacks (the root-relative path).
func compileFile(plugin, file, chunk string) (*lua.FunctionProto, error) {
	code, err := os.ReadFile(file)
	if err != nil {
		return nil, &PluginError{Plugin: plugin, File: chunk, Op: "read", Err: err}
	}
	stmts, err := parse.Parse(bytes.NewReader(code), chunk)
	if err != nil {
		return nil, parseErrorToPlugin(plugin, chunk, err)
	}
	proto, err := lua.Compile(stmts, chunk)
	if err != nil {
		return nil, &PluginError{Plugin: plugin, File: chunk, Op: "compile", Err: err}
	}
	return proto, nil
}

// module returns the compiled proto of a plugin module: "<name>.a.b" is
// <dir>/<name>/a/b.lua or <dir>/<name>/a/b/init.lua.
func (s *pluginSource) module(modname string) (*lua.FunctionProto, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.protos[modname]; ok {
		return r.proto, r.err
	}
	proto, err := s.compileModule(modname)
	s.protos[modname] = protoResult{proto, err}
	return proto, err
}

func (s *pluginSource) compileModule(modname string) (*lua.FunctionProto, error) {
	segs := strings.Split(modname, ".")
	for _, seg := range segs {
		if !moduleSegment.MatchString(seg) {
			return nil, fmt.Errorf("require(%q): bad module name segment %q", modname, seg)
		}
	}
	rel := path.Join(segs...)
	var tried []string
	for _, cand := range []string{rel + ".lua", path.Join(rel, "init.lua")} {
		file := filepath.Join(s.dir, filepath.FromSlash(cand))
		chunk := path.Join(s.relDir, cand)
		tried = append(tried, chunk)
		if _, err := os.Stat(file); err != nil {
			continue
		}
		proto, err := compileFile(s.name, file, chunk)
		if err != nil {
			return nil, err
		}
		return proto, nil
	}
	return nil, fmt.Errorf("require(%q): module not found (tried %s)", modname, strings.Join(tried, ", "))
}

// hashDir hashes the names and contents of every regular file under dir
// (skipping hidden entries), in a stable order.
func hashDir(dir string) (string, error) {
	var files []string
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
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sortStrings(s []string) { sort.Strings(s) }
