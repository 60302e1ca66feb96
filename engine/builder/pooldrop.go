package builder

import "sync"

// A plugin's database pool (plugindb.Migrator.PluginPool, one per plugin
// role) is opened when the plugin is prepared and used by every generation
// of it. A plugin that is disabled, or whose directory a rescan removed,
// should not keep its connections until shutdown: the pool closes once the
// plugin's last generation has retired, and PluginPool opens a new one when
// the plugin is enabled again.
//
// "Last" is counted here rather than read from the snapshot: while a reload
// replaced a generation, the old one may still be draining (RetireLater)
// and run SQL after the new one was itself disabled. So the count covers
// every generation from the moment Make starts preparing it
// (which pings the pool) until its retirement returned, including
// generations built and discarded without ever serving.

// poolUsers counts, per plugin, the generations that may still use its
// database pool.
type poolUsers struct {
	mu sync.Mutex
	n  map[string]int
}

// poolUse registers a generation about to be built for plugin. The returned
// release undoes it, for a build that fails before a generation exists; once
// one exists, its retirement releases it (poolRetired).
func (b *Builder) poolUse(plugin string) (release func()) {
	u := &b.users
	u.mu.Lock()
	if u.n == nil {
		u.n = map[string]int{}
	}
	u.n[plugin]++
	u.mu.Unlock()
	return func() { b.poolRetired(plugin) }
}

// poolRetired is called when one of plugin's generations retired (or was
// never built); when it was the last, the plugin's pool closes. It takes no
// engine lock (Discard runs under e.mu). Deciding under u.mu keeps a build
// that starts meanwhile from fetching the pool being closed: it either
// counted first (the pool stays) or fetches a new pool after the close.
func (b *Builder) poolRetired(plugin string) {
	if b.Migr == nil {
		return
	}
	u := &b.users
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[plugin]--; u.n[plugin] > 0 {
		return
	}
	delete(u.n, plugin)
	// its last user is gone: no connection is acquired, so the close
	// only hangs up idle ones
	b.Migr.ClosePluginPool(plugin)
}
