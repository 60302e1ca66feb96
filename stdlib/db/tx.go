package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	lua "github.com/yuin/gopher-lua"
)

// txRegistryKey is where a state keeps its innermost open transaction: a
// userdata holding its *txState, in the registry that the state shares
// with its coroutines and that Lua code cannot reach (no debug library).
// Keeping it there rather than in a map of the Module keyed by *LState
// needs no lock, follows coroutines, and dies with the state.
const txRegistryKey = "vbwd.db.tx"

// rollbackTimeout bounds a rollback, which runs even when the request's
// context has ended (to give the connection back clean).
const rollbackTimeout = 5 * time.Second

// txState is a transaction (or savepoint) opened by db.tx or tx.tx.
type txState struct {
	tx     pgx.Tx
	parent *txState       // the transaction that was innermost before this one
	ud     *lua.LUserData // this state's registry entry
	closed bool
	// owner is the transaction this savepoint was opened in; nil for a
	// transaction of its own.
	owner *txState
	// afterCommit runs once the outermost transaction commits (AfterCommit).
	afterCommit []hook
}

// AfterCommit arranges for fn to run once the transaction that db.tx has
// open in L commits for good: when the outermost transaction commits, not
// when a savepoint inside it is released; never when it or an enclosing
// one rolls back. It reports false, and keeps nothing, when no
// transaction is open: the caller's write has committed already. fn runs
// in the committing goroutine and must not call into Lua (vbwd.events uses
// it to wake the delivery workers of a published event). A commit that
// fails as far as the client knows drops the hooks, even if the server
// did commit (the reply was lost): fn is for what may be late, not lost.
//
// A hook whose key the transaction already holds is kept once: a handler
// publishing a thousand events in one transaction wakes the workers once,
// not a thousand times, and holds one hook, not a thousand.
func AfterCommit(L *lua.LState, key any, fn func()) bool {
	st := currentTx(L)
	if st == nil {
		return false
	}
	st.afterCommit = addHook(st.afterCommit, hook{key, fn})
	return true
}

// hook is one AfterCommit registration.
type hook struct {
	key any
	fn  func()
}

func addHook(hs []hook, h hook) []hook {
	for _, have := range hs {
		if have.key == h.key {
			return hs
		}
	}
	return append(hs, h)
}

// CurrentTx returns the innermost transaction (or savepoint) that db.tx
// has open in L, or nil. Host modules use it to write in the caller's
// transaction, e.g. an outbox row committed or rolled back with it. The
// transaction is valid only until the Go function calling CurrentTx
// returns to Lua.
func CurrentTx(L *lua.LState) pgx.Tx {
	if st := currentTx(L); st != nil {
		return st.tx
	}
	return nil
}

func currentTx(L *lua.LState) *txState {
	ud, ok := L.G.Registry.RawGetString(txRegistryKey).(*lua.LUserData)
	if !ok {
		return nil
	}
	st, _ := ud.Value.(*txState)
	return st
}

func setCurrentTx(L *lua.LState, st *txState) {
	if st == nil {
		L.G.Registry.RawSetString(txRegistryKey, lua.LNil)
		return
	}
	L.G.Registry.RawSetString(txRegistryKey, st.ud)
}

// tx implements db.tx(fn) (st nil: a transaction, or a savepoint in the
// innermost open transaction) and tx.tx(fn) (a savepoint in st).
//
// Every failure raises: fn's own error as it was raised, and a failure to
// begin or commit as the error table db.query would return. Returning
// nil, err for the commit alone made callers check twice, and could not be
// told apart from fn returning nil, err itself.
func (b *binding) tx(L *lua.LState, st *txState) int {
	refuseBuildPhase(L)
	fn := L.CheckFunction(1)
	q, err := b.target(L, st)
	if err != nil {
		b.raise(L, dbError{message: err.Error()})
	}
	c := b.m.newCall(L)
	tx, err := q.Begin(c.ctx)
	c.cancel()
	if err != nil {
		b.raise(L, describe(err, c.parent, c.ctx, b.m.opts.StatementTimeout))
	}
	owner := st
	if owner == nil {
		owner = currentTx(L) // db.tx inside an open transaction: a savepoint in the innermost
	}
	inner := &txState{tx: tx, parent: currentTx(L), owner: owner, ud: L.NewUserData()}
	inner.ud.Value = inner
	setCurrentTx(L, inner)

	top := L.GetTop()
	thread := L.G.CurrentThread
	L.Push(fn)
	L.Push(b.txTable(L, inner))
	perr := L.PCall(1, lua.MultRet, nil)
	setCurrentTx(L, inner.parent)
	inner.closed = true
	if L.G.CurrentThread != thread {
		// fn yielded its coroutine: gopher-lua then returns from PCall as
		// if fn had returned, and resumes the coroutine's parent. Never
		// commit half of fn; raise, which fails the parent's resume.
		b.rollback(c.parent, tx)
		L.RaiseError(yieldError)
	}
	if perr != nil {
		b.rollback(c.parent, tx)
		var apiErr *lua.ApiError
		if errors.As(perr, &apiErr) {
			L.Error(apiErr.Object, 0) // the very value fn raised
		}
		L.RaiseError("%v", perr)
	}

	c = b.m.newCall(L)
	defer c.cancel()
	if err := tx.Commit(c.ctx); err != nil {
		L.SetTop(top)
		b.raise(L, describe(err, c.parent, c.ctx, b.m.opts.StatementTimeout))
	}
	if inner.owner != nil {
		// a released savepoint: its writes commit with the transaction it is in
		for _, h := range inner.afterCommit {
			inner.owner.afterCommit = addHook(inner.owner.afterCommit, h)
		}
	} else {
		for _, h := range inner.afterCommit {
			h.fn()
		}
	}
	return L.GetTop() - top
}

// raise raises the error table of e (tostring gives "vbwd.db: ..."), so a
// handler that does not catch it answers as for error(err): 503 for a
// connection failure, else 500.
func (b *binding) raise(L *lua.LState, e dbError) {
	e.plugin = b.m.opts.Plugin
	L.Error(e.toLua(L, b.errMeta), 0)
}

// rollback ends tx after fn raised. It runs even if ctx has ended, so that
// a healthy connection goes back to the pool outside any transaction; if
// it fails pgx closes the connection, and fn's error is what matters.
func (b *binding) rollback(ctx context.Context, tx pgx.Tx) {
	timeout := rollbackTimeout
	if t := b.m.opts.StatementTimeout; t > 0 {
		timeout = min(timeout, t)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// txTable is the tx argument of fn: query, query_one, exec and tx bound to
// st. They raise once st has ended.
func (b *binding) txTable(L *lua.LState, st *txState) *lua.LTable {
	t := L.CreateTable(0, 4)
	t.RawSetString("query", L.NewFunction(func(L *lua.LState) int { return b.run(L, st, opQuery) }))
	t.RawSetString("query_one", L.NewFunction(func(L *lua.LState) int { return b.run(L, st, opQueryOne) }))
	t.RawSetString("exec", L.NewFunction(func(L *lua.LState) int { return b.run(L, st, opExec) }))
	t.RawSetString("tx", L.NewFunction(func(L *lua.LState) int { return b.tx(L, st) }))
	return t
}

// WithTx makes tx — a transaction the caller owns, such as an engine-run
// import — the one db.* calls in L join while fn runs: db.query, query_one
// and exec use it and db.tx opens savepoints in it. The previous state is
// restored afterwards; the caller commits or rolls back tx, and once tx has
// committed runs afterCommit, what AfterCommit collected meanwhile (the
// wake-ups of the events published in it).
func WithTx(L *lua.LState, tx pgx.Tx, fn func() error) (afterCommit []func(), err error) {
	prev := currentTx(L)
	st := &txState{tx: tx, parent: prev}
	st.ud = L.NewUserData()
	st.ud.Value = st
	setCurrentTx(L, st)
	defer func() {
		st.closed = true
		setCurrentTx(L, prev)
	}()
	err = fn()
	for _, h := range st.afterCommit {
		afterCommit = append(afterCommit, h.fn)
	}
	return afterCommit, err
}
