package engine

import (
	"context"
	"fmt"

	"github.com/vbwd-platform/vbwd-engine/engine/enginedb"
)

// migrateEngine applies the migrations of the engine's own tables
// (engine/enginedb) before anything uses them. Without a database it does
// nothing.
func (e *Engine) migrateEngine(ctx context.Context) error {
	if e.opts.DB == nil {
		return nil
	}
	if err := enginedb.Up(ctx, e.migr, e.log); err != nil {
		return fmt.Errorf("the engine's tables: %w", err)
	}
	return nil
}
