package lua

// vbwd: this file is not part of upstream gopher-lua (PATCHES.md).

import "context"

// SetContextWatched sets ctx as SetContext does, for a caller that watches
// ctx itself: when ctx is done, the caller calls G.Limits.Stop with the
// cause (the vbwd engine's call watcher, engine/luavm/watch.go). The VM
// then checks only the Limits at each instruction — one atomic load —
// instead of calling ctx.Done() through the context chain at every
// instruction, and ctx needs no channel and no timer of its own unless
// something else asks for its Done. Without Limits it is SetContext.
func (ls *LState) SetContextWatched(ctx context.Context) {
	if ls.G.Limits == nil {
		ls.SetContext(ctx)
		return
	}
	ls.mainLoop = mainLoopWatched
	ls.ctx = ctx
	ls.ctxWatched = true
}

// ContextWatched reports whether the context was set by SetContextWatched.
func (ls *LState) ContextWatched() bool { return ls.ctxWatched }

// mainLoopWatched is mainLoopWithContext for a watched context: the stop
// of the Limits is the only interruption it checks.
func mainLoopWatched(L *LState, baseframe *callFrame) {
	var inst uint32
	var cf *callFrame

	if L.stack.IsEmpty() {
		return
	}

	L.currentFrame = L.stack.Last()
	if L.currentFrame.Fn.IsG {
		callGFunction(L, false)
		return
	}

	lim := L.G.Limits
	for {
		cf = L.currentFrame
		inst = cf.Fn.Proto.Code[cf.Pc]
		cf.Pc++
		if p := lim.stopped.Load(); p != nil {
			L.RaiseError("%s", (*p).Error())
			return
		}
		if jumpTable[int(inst>>26)](L, inst, baseframe) == 1 {
			return
		}
	}
}

// ctxCause is why ctx is done: its cause when one was given, else its Err
// (context.Cause finds the cause of the nearest standard ancestor, which
// is nil when a custom context is done for a reason of its own).
func ctxCause(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return ctx.Err()
}
