package db

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"
	"go.opentelemetry.io/otel/trace"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
)

// Options configures the module of one plugin generation.
type Options struct {
	// Plugin is the plugin name, reported as the plugin field of error
	// tables.
	Plugin string
	// StatementTimeout bounds each call (each query, and the BEGIN and
	// COMMIT of a transaction) when the request's deadline is later or
	// absent; 0 means no bound beyond the request's deadline.
	StatementTimeout time.Duration
	// Pool, when set, gives the pool to run on at each call instead of the
	// one passed to New: the engine's pool logging in as the plugin's own
	// database role, made once the role exists. Its error is returned to
	// Lua as the call's error table.
	Pool func() (*pgxpool.Pool, error)
	// Clock, when set, is the engine's clock (a test clock): each statement
	// then runs with the session setting vbwd.now at its time, which
	// vbwd_now() (NowFunctionSQL) returns instead of now(). Nil in
	// production, where vbwd_now() is now().
	Clock func() time.Time
}

// Module is the vbwd.db module of one plugin generation. It holds no
// per-state data: the transaction a state has open lives in that state's
// registry (see CurrentTx).
type Module struct {
	pool *pgxpool.Pool
	opts Options
}

// New returns the module for pool, shared by all plugins. With a nil pool
// every call returns nil and a "no database configured" error.
func New(pool *pgxpool.Pool, o Options) *Module { return &Module{pool: pool, opts: o} }

// Name returns "db".
func (m *Module) Name() string { return "db" }

// Loader pushes the module table: the functions of exports and db.null.
func (m *Module) Loader(L *lua.LState) int {
	b := &binding{m: m, errMeta: newErrorMeta(L)}
	t := L.SetFuncs(L.CreateTable(0, 6), b.exports())
	t.RawSetString("null", luaconv.Null)
	L.Push(t)
	return 1
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "query", Sig: "query(sql: string, ...: any): vbwd.db.row[]?, vbwd.db.error?", Doc: "run sql with parameters $1... and return its rows (tables keyed by column name, NULL columns absent), or nil and an error table"},
		{Name: "query_one", Sig: "query_one(sql: string, ...: any): vbwd.db.row?, vbwd.db.error?", Doc: "run sql and return its first row, nil when there is none, or nil and an error table"},
		{Name: "exec", Sig: "exec(sql: string, ...: any): integer?, vbwd.db.error?", Doc: "run a statement and return the number of rows it affected, or nil and an error table"},
		{Name: "tx", Sig: "tx(fn: fun(tx: vbwd.db.tx): ...any): ...any", Doc: "run fn(tx) in a transaction (a savepoint when one is open): commit and return fn's results, roll back and re-raise fn's error; a failure to begin or commit raises the error table db.query would return (db.tx never returns nil, err of its own)"},
		{Name: "json", Sig: "json(v: any): string", Doc: "the JSON text of v, to pass a sequence table as a json or jsonb parameter rather than as an array"},
		{Name: "null", Sig: "null: userdata", Doc: "the NULL sentinel (the same value as json.null), for NULL inside array parameters and results"},
	}
}

// querier is what a call runs on: the pool, or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Begin(ctx context.Context) (pgx.Tx, error)
}

// binding is the module table of one state.
type binding struct {
	m       *Module
	errMeta *lua.LTable // metatable of this state's error tables
}

func (b *binding) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"query":     func(L *lua.LState) int { return b.run(L, nil, opQuery) },
		"query_one": func(L *lua.LState) int { return b.run(L, nil, opQueryOne) },
		"exec":      func(L *lua.LState) int { return b.run(L, nil, opExec) },
		"tx":        func(L *lua.LState) int { return b.tx(L, nil) },
		"json":      b.json,
	}
}

type op int

const (
	opQuery op = iota
	opQueryOne
	opExec
)

// run implements query, query_one and exec, on st when called through a
// tx table, else on the innermost transaction open in L, else on the pool.
func (b *binding) run(L *lua.LState, st *txState, o op) int {
	refuseBuildPhase(L)
	sql := checkSQL(L)
	var params []any
	if o == opExec {
		params = args(L, 2)
	} else {
		params = args(L, 2, resultFormats)
	}
	q, err := b.target(L, st)
	if err != nil {
		return b.failWith(L, dbError{message: err.Error()})
	}
	c := b.m.newCall(L)
	defer c.cancel()
	q, release, err := b.m.withClock(c.ctx, q)
	if err != nil {
		return b.fail(L, c, err)
	}
	defer release()
	if sp := b.m.startSpan(&c, o, sql); sp != nil { // trace.go
		defer sp.End()
	}
	if o == opExec {
		tag, err := q.Exec(c.ctx, sql, params...)
		if err != nil {
			return b.fail(L, c, err)
		}
		L.Push(lua.LNumber(tag.RowsAffected()))
		return 1
	}
	rows, err := q.Query(c.ctx, sql, params...)
	if err != nil {
		rows.Close()
		return b.fail(L, c, err)
	}
	v, err := collect(L, rows, o == opQueryOne)
	if err != nil {
		return b.fail(L, c, err)
	}
	L.Push(v)
	return 1
}

// target is where a call goes, or why it cannot go anywhere.
func (b *binding) target(L *lua.LState, st *txState) (querier, error) {
	if st == nil {
		st = currentTx(L)
	}
	switch {
	case st != nil:
		if st.closed {
			L.RaiseError(txClosedError)
		}
		return st.tx, nil
	case b.m.opts.Pool != nil:
		p, err := b.m.opts.Pool()
		if err != nil {
			return nil, err
		}
		return p, nil
	case b.m.pool == nil:
		return nil, errNoDatabase
	}
	return b.m.pool, nil
}

// collect reads rows into a marked array of row tables, or returns the
// first row (nil if none) when one is set. It closes rows.
func collect(L *lua.LState, rows pgx.Rows, one bool) (lua.LValue, error) {
	defer rows.Close()
	var s *scanner
	var list *lua.LTable
	if !one {
		list = luaconv.MarkArray(L.CreateTable(0, 0))
	}
	var first lua.LValue = lua.LNil
	for n := 1; rows.Next(); n++ {
		if s == nil {
			s = newScanner(L, rows)
		}
		t, err := s.row(rows.RawValues())
		if err != nil {
			return nil, err
		}
		if one {
			first = t
			break
		}
		list.RawSetInt(n, t)
	}
	rows.Close() // reads the rest of the result, which may hold an error
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if one {
		return first, nil
	}
	return list, nil
}

// json implements db.json(v) -> string.
func (b *binding) json(L *lua.LState) int {
	js, err := luaconv.AppendJSONSandboxed(L, L.CheckAny(1))
	if err != nil {
		L.ArgError(1, err.Error())
	}
	L.Push(lua.LString(js))
	return 1
}

// call is the context of one database call.
type call struct {
	parent context.Context // the state's context: the request's
	ctx    context.Context // parent, bounded by the statement timeout
	cancel context.CancelFunc
	span   trace.Span // the call's span when traced, else nil (trace.go)
}

func noCancel() {}

// newCall returns the context of a call made by L now.
func (m *Module) newCall(L *lua.LState) call {
	parent := L.Context()
	if parent == nil {
		parent = context.Background()
	}
	c := call{parent: parent, ctx: parent, cancel: noCancel}
	if t := m.opts.StatementTimeout; t > 0 {
		if dl, ok := parent.Deadline(); !ok || time.Until(dl) > t {
			c.ctx, c.cancel = context.WithTimeout(parent, t)
		}
	}
	return c
}

// fail pushes nil and the error table of err, a failure of call c.
func (b *binding) fail(L *lua.LState, c call, err error) int {
	tracing.Fail(c.span, err)
	return b.failWith(L, describe(err, c.parent, c.ctx, b.m.opts.StatementTimeout))
}

func (b *binding) failWith(L *lua.LState, e dbError) int {
	e.plugin = b.m.opts.Plugin
	L.Push(lua.LNil)
	L.Push(e.toLua(L, b.errMeta))
	return 2
}

func refuseBuildPhase(L *lua.LState) {
	if hostapi.InBuildPhase(L) {
		L.RaiseError(buildPhaseError)
	}
}

// checkSQL returns argument 1, which must be a string (not a number).
func checkSQL(L *lua.LState) string {
	s, ok := L.Get(1).(lua.LString)
	if !ok {
		L.TypeError(1, lua.LTString)
	}
	return string(s)
}

var _ hostapi.Documented = (*Module)(nil)
