// Package enginedb holds the engine's own tables in schema vbwd as dbmate
// migrations embedded in the binary (migrations/*.sql, the same format as
// the plugins' migrations), applied at start under the migration lock and
// recorded in vbwd.schema_migrations. The first one is idempotent over a
// database the engines before it created with DDL strings.
package enginedb

import (
	"context"
	"embed"
	"log/slog"

	"github.com/vbwd-platform/vbwd-engine/engine/plugindb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Table records the engine's applied migrations.
const Table = "vbwd.schema_migrations"

// Up applies the engine's pending migrations. Engines starting at once on
// one database apply each migration once: the others wait for the lock and
// find it applied.
func Up(ctx context.Context, m *plugindb.Migrator, log *slog.Logger) error {
	applied, err := m.ApplyEmbedded(ctx, migrations, Table)
	if err != nil {
		return err
	}
	for _, f := range applied {
		log.Info("engine migration applied", "file", f)
	}
	return nil
}
