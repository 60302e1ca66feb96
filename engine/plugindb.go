package engine

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	vdb "github.com/vbwd-platform/vbwd-engine/stdlib/db"
)

// preparePluginDB puts a plugin's database role, schema and declared
// extensions in place before its migrations run and its states are built
// (with the engine's lock held).
func (e *Engine) preparePluginDB(ctx context.Context, name string, m *Manifest) error {
	if e.migr == nil {
		return nil
	}
	exts, names := e.plugins.DBLookup(name)
	if m != nil {
		exts = m.Extensions
	}
	if err := e.migr.Prepare(ctx, name, exts, names); err != nil {
		return &PluginError{Plugin: name, Op: "database", Err: err}
	}
	// open the plugin's pool now, with one connection: its first request,
	// job or event handler should not pay for the login
	if pool, err := e.migr.PluginPool(name); err == nil && pool != e.opts.DB {
		if err := pool.Ping(ctx); err != nil {
			return &PluginError{Plugin: name, Op: "database", Err: err}
		}
	}
	return nil
}

// pluginPool is where plugin's SQL runs (Migrator.PluginPool).
func (e *Engine) pluginPool(plugin string) (*pgxpool.Pool, error) {
	if e.migr == nil {
		return nil, errors.New("no database configured")
	}
	return e.migr.PluginPool(plugin)
}

// dbOptions configures a plugin's vbwd.db: its SQL runs on its own pool.
func (e *Engine) dbOptions(plugin string) vdb.Options {
	o := vdb.Options{Plugin: plugin, Clock: e.opts.Clock} // a test clock reaches SQL through vbwd_now()
	if e.opts.DB != nil {
		o.Pool = func() (*pgxpool.Pool, error) { return e.pluginPool(plugin) }
	}
	return o
}
