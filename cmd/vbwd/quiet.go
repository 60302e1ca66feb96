package main

import (
	"context"
	"log/slog"
)

// quiet drops log records: commands that print a report (which names every
// failure) do not repeat it on stderr.
func quiet(l *slog.Logger) *slog.Logger { return quietBelow(l, slog.LevelError+4) }

// quietBelow drops records below min.
func quietBelow(l *slog.Logger, min slog.Level) *slog.Logger {
	return slog.New(minLevel{l.Handler(), min})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(a), m.min}
}

func (m minLevel) WithGroup(n string) slog.Handler { return minLevel{m.Handler.WithGroup(n), m.min} }
