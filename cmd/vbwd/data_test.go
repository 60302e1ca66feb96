package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataCommands exports the shipped notes plugin's demo data through a
// running engine and imports it back (CSV and JSON, dry run, a bad file).
func TestDataCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	t.Setenv("VBWD_ADMIN_TOKEN", "tok-data")
	root := copyHello(t, map[string]string{"plugins.json": `{"plugins": {"hello": {"enabled": true}, "notes": {"enabled": true}}}`})
	copyPlugin(t, "notes", root)
	base, stop := serveUntil(t, root, "--populate")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	addr := strings.TrimPrefix(base, "http://")
	ctx := context.Background()
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "notes.csv")
	if _, err := runCLI(t, ctx, "data", "export", "notes.notes", "--format", "csv", "--out", csvFile, "--addr", addr); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(csvFile)
	if !strings.HasPrefix(string(b), "slug,title,body,pinned\n") || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("csv export:\n%s", b)
	}
	out, err := runCLI(t, ctx, "data", "import", "notes.notes", csvFile, "--dry-run", "--addr", addr)
	if err != nil || !strings.Contains(out, `"updated": 3`) || !strings.Contains(out, `"committed": false`) {
		t.Errorf("dry run: %v %s", err, out)
	}
	jsonFile := filepath.Join(dir, "new.json")
	_ = os.WriteFile(jsonFile, []byte(`[{"slug": "imported", "title": "From a file"}]`), 0o644)
	if out, err := runCLI(t, ctx, "data", "import", "notes.notes", jsonFile, "--addr", addr); err != nil || !strings.Contains(out, `"created": 1`) {
		t.Errorf("json import: %v %s", err, out)
	}
	_ = os.WriteFile(jsonFile, []byte(`[{"slug": "Bad Slug", "title": "x"}]`), 0o644)
	if out, err := runCLI(t, ctx, "data", "import", "notes.notes", jsonFile, "--addr", addr); err == nil || !strings.Contains(out, `"row": 1`) {
		t.Errorf("bad import: %v %s", err, out)
	}
}
