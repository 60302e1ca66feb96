package plugindb

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
)

// ApplyEmbedded applies the pending migrations in fsys (the directory
// "migrations" of an embedded file system) as the engine's own user,
// recording them in table, under the migration lock (which plugin roles
// cannot take). The engine's own schema (engine/enginedb) is migrated this
// way. It returns the files applied.
func (m *Migrator) ApplyEmbedded(ctx context.Context, fsys fs.FS, table string) ([]string, error) {
	var out bytes.Buffer
	err := m.Locked(ctx, func() error {
		db := dbmate.New(m.url)
		db.FS = fsys
		db.MigrationsDir = []string{"migrations"}
		db.MigrationsTableName = table
		db.AutoDumpSchema = false
		db.Log = &out
		return db.Migrate()
	})
	applied := logged(out.String(), "Applied: ")
	if err != nil {
		failing := lastLogged(out.String(), "Applying: ")
		return nil, fmt.Errorf("migrating %s (%s): %w", table, failing, err)
	}
	return applied, nil
}
