package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/internal/logsink"
)

// globals are the flags every command takes.
type globals struct {
	root      string
	logLevel  string
	logFormat string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	cmd := &cobra.Command{
		Use:           "vbwd",
		Short:         "vbwd runs Lua plugins as an HTTP engine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.root, "root", envOr("VBWD_ROOT", "."), "directory holding plugins/, plugins.json and config.json")
	pf.StringVar(&g.logLevel, "log-level", envOr("VBWD_LOG_LEVEL", "info"), "debug, info, warn or error")
	pf.StringVar(&g.logFormat, "log-format", envOr("VBWD_LOG_FORMAT", "text"), "text or json")
	cmd.AddCommand(newServeCmd(g), newPluginCmd(g), newMigrateCmd(g), newPopulateCmd(g), newTestCmd(g), newTokenCmd(), newDataCmd(), newVersionCmd(),
		newInitCmd(g), newTypesCmd(g), newOpenAPICmd(g))
	teach(cmd) // help.go: longer help, examples, environment, named missing arguments
	return cmd
}

// logger builds the process logger over w (the returned sink). For
// long-running commands (serve) the sink is buffered and flushed every
// 100 ms; call the returned closer before exiting.
func (g *globals) logger(buffered bool) (log *slog.Logger, sink io.Writer, closer func(), err error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	sink, closer = os.Stderr, func() {}
	if buffered {
		b := logsink.NewBuffered(os.Stderr, 100*time.Millisecond)
		sink, closer = b, func() { _ = b.Close() }
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(sink, opts)), sink, closer, nil
	case "json":
		return slog.New(slog.NewJSONHandler(sink, opts)), sink, closer, nil
	}
	return nil, nil, nil, fmt.Errorf("--log-format %q: want text or json", g.logFormat)
}

// envInt is the integer in environment variable key, 0 when unset or bad.
func envInt(key string) int64 {
	n, _ := strconv.ParseInt(os.Getenv(key), 10, 64)
	return n
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
