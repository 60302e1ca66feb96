package builder

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
	vdb "github.com/vbwd-platform/vbwd-engine/stdlib/db"
)

// preparePluginDB puts a plugin's database role, schema and declared
// extensions in place before its migrations run and its states are built
// (with the engine's lock held).
func (b *Builder) preparePluginDB(ctx context.Context, name string, m *spec.Manifest) error {
	if b.Migr == nil {
		return nil
	}
	exts, names := b.Lookup(name)
	if m != nil {
		exts = m.Extensions
	}
	if err := b.Migr.Prepare(ctx, name, exts, names); err != nil {
		return &errs.PluginError{Plugin: name, Op: "database", Err: err}
	}
	// open the plugin's pool now, with one connection: its first request,
	// job or event handler should not pay for the login
	if pool, err := b.Migr.PluginPool(name); err == nil && pool != b.DB {
		if err := pool.Ping(ctx); err != nil {
			return &errs.PluginError{Plugin: name, Op: "database", Err: err}
		}
	}
	return nil
}

// PluginPool is where plugin's SQL runs (Migrator.PluginPool).
func (b *Builder) PluginPool(plugin string) (*pgxpool.Pool, error) {
	if b.Migr == nil {
		return nil, errors.New("no database configured")
	}
	return b.Migr.PluginPool(plugin)
}

// DBOptions configures a plugin's vbwd.db: its SQL runs on its own pool.
func (b *Builder) DBOptions(plugin string) vdb.Options {
	o := vdb.Options{Plugin: plugin, Clock: b.Clock} // a test clock reaches SQL through vbwd_now()
	if b.DB != nil {
		o.Pool = func() (*pgxpool.Pool, error) { return b.PluginPool(plugin) }
	}
	return o
}
