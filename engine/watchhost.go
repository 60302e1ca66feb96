package engine

import (
	"context"

	"github.com/vbwd-platform/vbwd-engine/engine/watch"
)

// Watching plugin files lives in engine/watch; it reaches the engine
// through watchHost.

const watchDebounce = watch.Debounce

// Watch reloads plugins when their files change, debounced, with the same
// rollback as Reload (a broken save keeps the old generation serving and is
// logged with file:line). With all set (serve --watch) every plugin is
// watched and new plugin directories trigger a rescan; otherwise only
// plugins whose config has "debug_mode": true. It returns when ctx is done.
func (e *Engine) Watch(ctx context.Context, all bool) error {
	return watch.Run(ctx, watchHost{e}, e.opts.Root, e.log, all)
}

// watchHost is the engine as engine/watch sees it (watch.Host).
type watchHost struct{ *Engine }

// DebugMode reports whether a serving plugin's config has debug_mode: true.
func (h watchHost) DebugMode(name string) bool {
	g := h.servingGen(name)
	if g == nil {
		return false
	}
	v, _ := g.Config["debug_mode"].(bool)
	return v
}
