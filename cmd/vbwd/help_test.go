package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// walk calls fn for every command of the tree but cobra's own (help,
// completion).
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			walk(c, fn)
		}
	}
}

// TestHelp_EveryCommandTeaches runs every command's --help: each has a
// longer description than its one-line summary, an example and the
// environment it reads.
func TestHelp_EveryCommandTeaches(t *testing.T) {
	var paths [][]string
	walk(newRootCmd(), func(c *cobra.Command) {
		paths = append(paths, strings.Fields(c.CommandPath())[1:])
	})
	if len(paths) < 20 {
		t.Fatalf("walked only %d commands", len(paths))
	}
	for _, p := range paths {
		name := strings.Join(append([]string{"vbwd"}, p...), " ")
		t.Run(name, func(t *testing.T) {
			out, err := runCLI(t, context.Background(), append(p, "--help")...)
			if err != nil {
				t.Fatal(err)
			}
			c, _, _ := newRootCmd().Find(p)
			if _, ok := helpDocs[name]; !ok {
				t.Errorf("%s has no entry in helpDocs (cmd/vbwd/help.go): add its longer help, example and environment", name)
			}
			for _, want := range []string{"Environment:\n  VBWD_ROOT", "Examples:\n  ", "Usage:"} {
				if !strings.Contains(out, want) {
					t.Errorf("--help lacks %q:\n%s", want, out)
				}
			}
			if desc, _, _ := strings.Cut(out, "\n\nEnvironment:"); len(strings.TrimSpace(desc)) <= len(c.Short) {
				t.Errorf("--help has no description longer than its summary %q:\n%s", c.Short, out)
			}
		})
	}
	for cmd, wants := range map[string][]string{
		"serve":         {"DATABASE_URL", "VBWD_ADDR", "VBWD_ADMIN_TOKEN", "VBWD_JWT_SECRET", "VBWD_NODE_ID", "VBWD_PG_BIN"},
		"plugin list":   {"VBWD_ADDR", "VBWD_ADMIN_TOKEN"},
		"token":         {"VBWD_JWT_SECRET"},
		"migrate up":    {"DATABASE_URL"},
		"data import":   {"VBWD_ADMIN_TOKEN"},
		"test":          {"DATABASE_URL"},
		"plugin reload": {"VBWD_ADDR"},
	} {
		out, _ := runCLI(t, context.Background(), append(strings.Fields(cmd), "--help")...)
		env := out[strings.Index(out, "Environment:"):]
		for _, w := range wants {
			if !strings.Contains(env, "\n  "+w+" ") {
				t.Errorf("vbwd %s --help does not list %s:\n%s", cmd, w, env)
			}
		}
	}
}

// envRead matches the variables the code reads: os.Getenv("X"),
// os.LookupEnv("X"), envOr("X", ...), envInt("X").
var envRead = regexp.MustCompile(`(?:Getenv|LookupEnv|envOr|envInt)\("([A-Z_0-9]+)"`)

// TestHelp_EveryVariableDocumented: every environment variable the binary's
// code reads is documented in envDoc and listed by some command's --help.
func TestHelp_EveryVariableDocumented(t *testing.T) {
	repo := filepath.Join("..", "..")
	listed := map[string]bool{}
	walk(newRootCmd(), func(c *cobra.Command) {
		for _, k := range envKeys() {
			if strings.Contains(c.Long, "\n  "+k+" ") {
				listed[k] = true
			}
		}
	})
	found := 0
	for _, dir := range []string{"cmd/vbwd", "engine", "internal/pgdev", "internal/auth", "internal/tracing", "stdlib"} {
		err := filepath.WalkDir(filepath.Join(repo, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range envRead.FindAllSubmatch(b, -1) {
				found++
				if k := string(m[1]); !listed[k] {
					t.Errorf("%s reads %s, which no command's --help lists (add it to envDoc and helpDocs in help.go)", p, k)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found < 10 {
		t.Fatalf("found only %d reads of environment variables: is the pattern stale?", found)
	}
}

// TestHelp_MissingArgumentNamed: a command run without a required argument
// says which one is missing.
func TestHelp_MissingArgumentNamed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "new"}, "missing arguments <plugin> <name>"},
		{[]string{"migrate", "new", "notes"}, "missing argument <name>"},
		{[]string{"migrate", "down"}, "missing argument <plugin>"},
		{[]string{"plugin", "reload"}, "missing argument <name>"},
		{[]string{"plugin", "new"}, "missing argument <name>"},
		{[]string{"data", "import", "subscription.plans"}, "missing argument <file>"},
		{[]string{"data", "export"}, "missing argument <key>"},
	} {
		cmd := newRootCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(tc.args)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "usage: vbwd ") {
			t.Errorf("vbwd %s: got %v, want %q and the usage", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"version", "extra"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "unknown command \"extra\"") && !strings.Contains(err.Error(), "usage: vbwd version") {
		t.Errorf("vbwd version extra: %v", err)
	}
}
