// Package jobs runs the scheduled jobs plugins register with ctx:every (see
// scheduler.go), on a ticker or, for the test runner, by hand (manual.go).
// It reaches the engine through Host and never imports it.
package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/registry"
)

// Ref is one serving job registration of a plugin generation (the engine's
// registry reference).
type Ref interface {
	// Plugin names the plugin that registered the job.
	Plugin() string
	// Logger is the generation's logger.
	Logger() *slog.Logger
	// Registration is the job's registration (its interval is the Detail).
	Registration() registry.Registration
	// Run runs fn on a state of the generation with the function that
	// state registered; errs.ErrRetired when the generation was replaced.
	Run(ctx context.Context, fn func(L *lua.LState, v lua.LValue) error) error
}

// Host is what the scheduler needs of the engine.
type Host[R Ref] interface {
	// Jobs is the serving jobs by name; the map is not modified.
	Jobs() map[string]R
	// Now is the engine's time (Options.Clock, for tests).
	Now() time.Time
	// Failed counts a failed run of a job of plugin.
	Failed(plugin string)
}

// Config is what the scheduler reads of the engine's options and lifecycle.
type Config struct {
	DB             *pgxpool.Pool // nil: no claim, every tick runs here
	NodeID         string        // last_node of claimed runs
	RequestTimeout time.Duration // the deadline of a run
	Manual         bool          // Options.ManualJobs: no loop, Advance runs the jobs
	Log            *slog.Logger
	Quit           <-chan struct{} // closed at Shutdown
	Group          *sync.WaitGroup // Shutdown waits for the loop on it
}
