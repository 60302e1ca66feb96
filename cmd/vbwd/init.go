package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	vtypes "github.com/vbwd-platform/vbwd-engine/stdlib/types"
)

// typesDir is where init and plugin new write the editor stubs, relative to
// the engine root; the scaffold's .luarc.json points there.
const typesDir = ".vbwd/types"

// newInitCmd is `vbwd init [dir]`.
func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init [dir]",
		Short: "Make dir (default --root) an engine root: plugins/, plugins.json, config.json and the editor stubs",
		Long: "Make dir (default --root, \".\") an engine root for someone who has only the vbwd binary:\n" +
			"plugins/, an empty plugins.json and config.json, and the LuaLS stubs in .vbwd/types.\n" +
			"Files that exist are kept. Then: vbwd plugin new <name>, vbwd test, vbwd serve.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := g.root
			if len(args) == 1 {
				dir = args[0]
			}
			return initRoot(dir, cmd.OutOrStdout())
		},
	}
}

// newTypesCmd is `vbwd types [--dir d]`.
func newTypesCmd(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "types",
		Short: "Write the LuaLS stubs of the plugin API (vbwd.*.lua) for editors",
		Long: "Write the LuaLS stubs of the plugin API, as built into this binary, to --dir\n" +
			"(default <root>/.vbwd/types, where the scaffold's .luarc.json looks). Run it again\n" +
			"after upgrading vbwd.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				dir = filepath.Join(g.root, typesDir)
			}
			n, err := writeStubs(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d stub files to %s\n", n, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the stubs to (default <root>/.vbwd/types)")
	return cmd
}

// initRoot creates what an engine root needs under dir, keeping what exists.
func initRoot(dir string, out io.Writer) error {
	if err := os.MkdirAll(filepath.Join(dir, "plugins"), 0o755); err != nil {
		return err
	}
	for _, f := range []struct{ name, content string }{
		{"plugins.json", "{\n  \"plugins\": {}\n}\n"},
		{"config.json", "{}\n"},
		{".gitignore", ".data/\n.vbwd/\n"},
	} {
		p := filepath.Join(dir, f.name)
		switch _, err := os.Stat(p); {
		case err == nil:
			fmt.Fprintln(out, "kept", f.name)
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		if err := os.WriteFile(p, []byte(f.content), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(out, "created", f.name)
	}
	n, err := writeStubs(filepath.Join(dir, typesDir))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d editor stubs to %s\n", n, typesDir)
	rootFlag := ""
	if abs, _ := filepath.Abs(dir); abs != "" {
		if wd, _ := os.Getwd(); wd != abs {
			rootFlag = " --root " + dir
		}
	}
	fmt.Fprintf(out, "\nnext: vbwd plugin new <name>%s, then vbwd test%s and vbwd serve%s\n", rootFlag, rootFlag, rootFlag)
	return nil
}

// writeStubs writes every embedded stub to dir, replacing older copies, and
// removes generated stubs of modules this binary no longer has.
func writeStubs(dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	entries, err := fs.ReadDir(vtypes.FS, ".")
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, e := range entries {
		b, err := vtypes.FS.ReadFile(e.Name())
		if err != nil {
			return 0, err
		}
		if err := writeAtomic(filepath.Join(dir, e.Name()), b); err != nil {
			return 0, fmt.Errorf("writing the stubs: %w", err)
		}
		want[e.Name()] = true
	}
	old, _ := filepath.Glob(filepath.Join(dir, "vbwd.*.lua"))
	for _, p := range old {
		if !want[filepath.Base(p)] && strings.HasPrefix(filepath.Base(p), "vbwd.") {
			_ = os.Remove(p)
		}
	}
	return len(entries), nil
}
