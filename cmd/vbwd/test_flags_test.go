package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// vbwd test --count N runs every file N times (make test runs the guide's
// webhook example 20 times this way).
func TestTestCmd_Count(t *testing.T) {
	t.Setenv("DATABASE_URL", pg.NewDatabase(t))
	root := filepath.Join("..", "..", "docs", "examples")
	out, err := runCLI(t, context.Background(), "test", "--root", root, "--count", "2", "webhook")
	if err != nil || !strings.Contains(out, "6 passed, 0 failed") {
		t.Errorf("--count 2: %v\n%s", err, out)
	}
}
