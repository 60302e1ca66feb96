package engine

import "github.com/vbwd-platform/vbwd-engine/engine/pgcoord"

// runListener runs l until e.quit is closed (engine/pgcoord/listen.go).
func (e *Engine) runListener(l pgcoord.Listener) { pgcoord.Listen(e.opts.DB, e.log, e.quit, l) }
