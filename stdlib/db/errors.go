package db

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	lua "github.com/yuin/gopher-lua"
)

// Messages raised (not returned) by the module.
const (
	buildPhaseError = "vbwd.db: database calls are not allowed during initialize/routes/on_enable " +
		"(they run once per pooled state); use populate.lua or a route"
	txClosedError = "vbwd.db: transaction is closed"
	yieldError    = "vbwd.db: a coroutine cannot yield inside db.tx; the transaction was rolled back"
)

// Errors returned to Lua as error tables (their text is the message).
var (
	errNoDatabase = errors.New("no database configured")
	errDeadline   = errors.New("query cancelled by the request deadline")
	errCancelled  = errors.New("query cancelled because the request was cancelled")
	errTimeout    = errors.New("query cancelled by the statement timeout")
)

// SQLSTATE codes the module looks at.
const codeQueryCanceled = "57014"

// dbError is what a Lua caller gets as err: each non-empty field becomes a
// field of the error table.
type dbError struct {
	message, code                                string
	constraint, detail, hint, schema, table, col string
	plugin                                       string
	class                                        string // "connection" when the database could not be reached
}

// ClassConnection is the class of an error table whose query could not
// reach the database (refused, reset, the server shutting down): the
// engine answers a handler raising it with 503 and Retry-After.
const ClassConnection = "connection"

// isConnectionError tells, by the error's type and SQLSTATE, whether err
// means the database is unreachable rather than the query wrong.
func isConnectionError(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 57P01..03: admin/crash shutdown, cannot
		// connect now; 53300: too many connections
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || pgconn.SafeToRetry(err)
}

// describe turns err from a call made under ctx, derived from the request
// context parent, into a dbError. A cancelled context wins over the error
// pgx reports for it (an I/O timeout on the killed connection, or
// PostgreSQL's query_canceled after a cancel request).
func describe(err error, parent, ctx context.Context, timeout time.Duration) dbError {
	var pgErr *pgconn.PgError
	isPg := errors.As(err, &pgErr)
	if cause := cancelCause(err, parent, ctx); cause != nil {
		e := dbError{message: cause.Error()}
		switch {
		case isPg && pgErr.Code == codeQueryCanceled:
			e.code = codeQueryCanceled
		case errors.Is(cause, errCancelled):
			e.code = "cancelled"
		default:
			e.code = "deadline"
		}
		if errors.Is(cause, errTimeout) {
			e.message += " (" + timeout.String() + ")"
		}
		return e
	}
	if isConnectionError(err) {
		e := dbError{message: err.Error(), class: ClassConnection}
		if isPg {
			e.code = pgErr.Code
		}
		return e
	}
	if !isPg {
		return dbError{message: err.Error()}
	}
	return dbError{
		message:    pgErr.Message,
		code:       pgErr.Code,
		constraint: pgErr.ConstraintName,
		detail:     pgErr.Detail,
		hint:       pgErr.Hint,
		schema:     pgErr.SchemaName,
		table:      pgErr.TableName,
		col:        pgErr.ColumnName,
	}
}

// cancelCause tells whether err comes from the end of the call's context:
// the request's (parent) or the statement timeout's (ctx, derived from it).
// Another PostgreSQL error stays itself, even when the context ended just
// after it.
func cancelCause(err error, parent, ctx context.Context) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code != codeQueryCanceled {
		return nil
	}
	ctxErr := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	if !ctxErr && ctx.Err() == nil {
		return nil
	}
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.Canceled):
		return errCancelled
	case parent.Err() != nil:
		return errDeadline
	case ctx.Err() != nil:
		return errTimeout
	case errors.Is(err, context.Canceled):
		return errCancelled
	}
	return errDeadline
}

// newErrorMeta returns the metatable of the error tables of one state: its
// __tostring gives "vbwd.db: <message> (SQLSTATE <code>)".
func newErrorMeta(L *lua.LState) *lua.LTable {
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__tostring", L.NewFunction(errorString))
	return mt
}

func errorString(L *lua.LState) int {
	t := L.CheckTable(1)
	var b strings.Builder
	b.WriteString("vbwd.db: ")
	b.WriteString(lua.LVAsString(t.RawGetString("message")))
	if code := lua.LVAsString(t.RawGetString("code")); isSQLState(code) {
		b.WriteString(" (SQLSTATE ")
		b.WriteString(code)
		b.WriteString(")")
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// isSQLState reports whether code looks like a SQLSTATE: five digits or
// upper-case letters (not "deadline" or "cancelled").
func isSQLState(code string) bool {
	if len(code) != 5 {
		return false
	}
	for _, c := range []byte(code) {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// toLua builds the Lua error table of e.
func (e dbError) toLua(L *lua.LState, meta *lua.LTable) *lua.LTable {
	t := L.CreateTable(0, 4)
	for _, f := range [...]struct{ k, v string }{
		{"message", e.message}, {"code", e.code}, {"constraint", e.constraint},
		{"detail", e.detail}, {"hint", e.hint}, {"schema", e.schema},
		{"table", e.table}, {"column", e.col}, {"plugin", e.plugin}, {"class", e.class},
	} {
		if f.v != "" {
			t.RawSetString(f.k, lua.LString(f.v))
		}
	}
	t.Metatable = meta
	return t
}
