package db

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/vbwd-platform/vbwd-engine/internal/tracing"
)

var opNames = [...]string{opQuery: "db.query", opQueryOne: "db.query_one", opExec: "db.exec"}

// startSpan starts the span of a query when the call's context is traced
// (the plugin call's span records): a client span with the SQL text — its
// parameters are never recorded — and the plugin. c.ctx becomes the span's
// context. Untraced, it returns nil and allocates nothing.
func (m *Module) startSpan(c *call, o op, sql string) trace.Span {
	ctx, sp := tracing.Start(c.ctx, opNames[o], trace.SpanKindClient)
	if sp == nil {
		return nil
	}
	c.ctx, c.span = ctx, sp
	sp.SetAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", sql),
		attribute.String("db.operation.name", opNames[o]), attribute.String("vbwd.plugin", m.opts.Plugin))
	return sp
}
