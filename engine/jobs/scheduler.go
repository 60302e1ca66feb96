package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/engine/registry"
	lua "github.com/yuin/gopher-lua"
)

// Scheduled jobs: ctx:every("<plugin>.<job>", seconds, function(job) ... end)
// registers a function the engine runs every interval, in the plugin's own
// pool, with the request timeout as its deadline — no cron job to run by
// hand. Like every registration it belongs to the generation: a reload
// replaces it, a disable removes it. Engines sharing a database run each
// tick once between them: the run is claimed in vbwd.jobs with a
// conditional update, so the job that wins the tick is the only one to run.

const (
	minJobInterval = 100 * time.Millisecond
	schedulerTick  = 100 * time.Millisecond
)

// Interval reads the interval a job registration recorded.
func Interval(r registry.Registration) time.Duration {
	ms, _ := strconv.ParseInt(strings.TrimSuffix(r.Detail, "ms"), 10, 64)
	return time.Duration(ms) * time.Millisecond
}

// Every is ctx:every(name, seconds, fn) for plugin.
func Every(plugin string) func(L *lua.LState) (registry.Registration, lua.LValue) {
	return func(L *lua.LState) (registry.Registration, lua.LValue) {
		name := L.CheckString(2)
		secs := float64(L.CheckNumber(3))
		fn := L.CheckFunction(4)
		if !strings.HasPrefix(name, plugin+".") || !registry.DottedName.MatchString(name) || strings.Contains(name, "*") {
			L.ArgError(2, fmt.Sprintf("job name %q must be %s.<name>", name, plugin))
		}
		d := time.Duration(secs * float64(time.Second))
		if d < minJobInterval {
			L.ArgError(3, fmt.Sprintf("interval must be at least %v", minJobInterval))
		}
		return registry.Registration{Kind: registry.KindJob, Name: name, Detail: strconv.FormatInt(d.Milliseconds(), 10) + "ms"}, fn
	}
}

// Scheduler runs the serving generations' jobs.
type Scheduler[R Ref] struct {
	h    Host[R]
	c    Config
	mu   sync.Mutex
	next map[string]time.Time // local due times, by job name
	// waited is, with Config.Manual, the clock time each job has
	// waited since it last ran (manual.go).
	waited map[string]time.Duration
}

// Start starts the loop (vbwd.jobs is engine/enginedb's); Shutdown stops
// it (c.Quit) and waits for a running job (c.Group).
func Start[R Ref](h Host[R], c Config) *Scheduler[R] {
	s := &Scheduler[R]{h: h, c: c, next: map[string]time.Time{}}
	if c.Manual {
		return s // Advance runs them: manual.go
	}
	c.Group.Add(1)
	go s.loop()
	return s
}

func (s *Scheduler[R]) loop() {
	defer s.c.Group.Done()
	t := time.NewTicker(schedulerTick)
	defer t.Stop()
	for {
		select {
		case <-s.c.Quit:
			return
		case <-t.C:
			s.tick()
		}
	}
}

// tick runs every job that is due, one after the other.
func (s *Scheduler[R]) tick() {
	now := s.h.Now()
	for name, ref := range s.h.Jobs() {
		every := Interval(ref.Registration())
		s.mu.Lock()
		due, seen := s.next[name]
		if !seen {
			due = now.Add(every) // first run one interval after the job appears
			s.next[name] = due
		}
		s.mu.Unlock()
		if now.Before(due) {
			continue
		}
		s.mu.Lock()
		s.next[name] = now.Add(every)
		s.mu.Unlock()
		if s.claim(name, ref.Plugin(), every) {
			s.run(name, ref, now)
		}
	}
}

// claim takes the tick for this engine: always without a database; with
// one, only when no other engine ran the job within the interval.
func (s *Scheduler[R]) claim(name, plugin string, every time.Duration) bool {
	db := s.c.DB
	if db == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tag, err := db.Exec(ctx, `insert into vbwd.jobs as j (plugin, name, next_run_at, last_node)
		values ($1, $2, now() + $3::interval, $4)
		on conflict (plugin, name) do update set next_run_at = excluded.next_run_at, last_node = excluded.last_node
		where j.next_run_at <= now() + interval '10 milliseconds'`,
		plugin, name, fmt.Sprintf("%d milliseconds", every.Milliseconds()), s.c.NodeID)
	if err != nil {
		s.c.Log.Warn("scheduler: claiming a job run failed", "job", name, "err", err)
		return false
	}
	return tag.RowsAffected() == 1
}

// run calls the job's function with {name, scheduled_at}; a failure is
// logged with file:line, never fatal.
func (s *Scheduler[R]) run(name string, ref R, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), s.c.RequestTimeout)
	defer cancel()
	err := ref.Run(ctx, func(L *lua.LState, v lua.LValue) error {
		job := L.CreateTable(0, 2)
		job.RawSetString("name", lua.LString(name))
		job.RawSetString("scheduled_at", lua.LString(at.UTC().Format(time.RFC3339Nano)))
		L.Push(v)
		L.Push(job)
		if err := L.PCall(1, 0, nil); err != nil {
			return luavm.WithCtxErr(ctx, errs.NormalizeLuaError(ref.Plugin(), "job "+name, err))
		}
		return nil
	})
	if err != nil && err != errs.ErrRetired {
		ref.Logger().Error("scheduled job failed", "job", name, "err", err)
		s.h.Failed(ref.Plugin())
	}
}
