package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	root := copyHello(t, map[string]string{
		"plugins.json":          `{"plugins": {"hello": {"enabled": true}, "base": {"enabled": true}, "top": {"enabled": true}}}`,
		"plugins/base/init.lua": `return { name = "base", version = "1.0.0" }`,
		"plugins/base/migrations/20260101000001_t.sql": "-- migrate:up\ncreate table base_t (id int);\n-- migrate:down\ndrop table base_t;\n",
		"plugins/top/init.lua":                         `return { name = "top", version = "1.0.0", dependencies = { "base" } }`,
		"plugins/top/migrations/20260101000001_u.sql":  "-- migrate:up\ncreate table top_u (id int);\n-- migrate:down\ndrop table top_u;\n",
		"plugins/top/populate.lua": `local db = require("vbwd.db")
return function(ctx)
  local _, err = db.exec("insert into top_u select 1 where not exists (select 1 from top_u)")
  if err then error(tostring(err)) end
end`,
	})
	ctx := context.Background()
	run := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, ctx, append(args, "--root", root)...)
		if err != nil {
			t.Fatalf("vbwd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := run("migrate", "status"); !strings.Contains(out, "[ ] plugins/base/migrations/20260101000001_t.sql") ||
		!strings.Contains(out, "top: 0 applied, 1 pending") {
		t.Errorf("status before:\n%s", out)
	}
	if out := run("migrate", "up", "base"); !strings.Contains(out, "applied plugins/base/migrations/20260101000001_t.sql") ||
		strings.Contains(out, "top_u") {
		t.Errorf("up base:\n%s", out)
	}
	if out := run("migrate", "up"); !strings.Contains(out, "applied plugins/top/migrations/20260101000001_u.sql") {
		t.Errorf("up:\n%s", out)
	}
	if out := run("migrate", "status", "top"); !strings.Contains(out, "[X] plugins/top/migrations") {
		t.Errorf("status after:\n%s", out)
	}
	_, err := runCLI(t, ctx, "migrate", "down", "base", "--root", root)
	if err == nil || !strings.Contains(err.Error(), "enabled plugins depend on it: top") {
		t.Errorf("down with a dependent: %v", err)
	}
	if out := run("migrate", "down", "top", "--steps", "3"); !strings.Contains(out, "rolled back plugins/top/migrations/20260101000001_u.sql") {
		t.Errorf("down top:\n%s", out)
	}
	if out := run("populate"); !strings.Contains(out, "populated top") {
		t.Errorf("populate (migrates first):\n%s", out)
	}
	if out := run("populate", "top"); !strings.Contains(out, "populated top") {
		t.Errorf("populate again:\n%s", out)
	}
	out := run("migrate", "new", "top", "add_name")
	if !strings.HasPrefix(out, "created plugins/top/migrations/") {
		t.Fatalf("new: %s", out)
	}
	b, err := os.ReadFile(filepath.Join(root, strings.TrimSpace(strings.TrimPrefix(out, "created "))))
	if err != nil || !strings.Contains(string(b), "-- migrate:up") || !strings.Contains(string(b), "-- migrate:down") {
		t.Errorf("new file: %q %v", b, err)
	}
}
