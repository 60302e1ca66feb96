package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

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

// jobInterval reads the interval a job registration recorded.
func jobInterval(r Registration) time.Duration {
	ms, _ := strconv.ParseInt(strings.TrimSuffix(r.Detail, "ms"), 10, 64)
	return time.Duration(ms) * time.Millisecond
}

// everyFn is ctx:every(name, seconds, fn).
func everyFn(plugin string) func(L *lua.LState) (Registration, lua.LValue) {
	return func(L *lua.LState) (Registration, lua.LValue) {
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
		return Registration{Kind: KindJob, Name: name, Detail: strconv.FormatInt(d.Milliseconds(), 10) + "ms"}, fn
	}
}

// scheduler runs the serving generations' jobs.
type scheduler struct {
	e    *Engine
	mu   sync.Mutex
	next map[string]time.Time // local due times, by job name
	// waited is, with Options.ManualJobs, the clock time each job has
	// waited since it last ran (jobs_manual.go).
	waited map[string]time.Duration
}

// startScheduler starts the loop (vbwd.jobs is engine/enginedb's);
// Shutdown stops it (e.quit) and waits for a running job (e.retiring).
func (e *Engine) startScheduler(ctx context.Context) error {
	s := &scheduler{e: e, next: map[string]time.Time{}}
	e.sched = s
	if e.opts.ManualJobs {
		return nil // AdvanceJobs runs them: jobs_manual.go
	}
	e.retiring.Add(1)
	go s.loop()
	return nil
}

func (s *scheduler) loop() {
	defer s.e.retiring.Done()
	t := time.NewTicker(schedulerTick)
	defer t.Stop()
	for {
		select {
		case <-s.e.quit:
			return
		case <-t.C:
			s.tick()
		}
	}
}

// tick runs every job that is due, one after the other.
func (s *scheduler) tick() {
	now := s.e.clock()
	for name, ref := range s.e.index.Load().jobs {
		every := jobInterval(ref.gen.regs[ref.idx])
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
		if s.claim(name, ref.gen.Plugin, every) {
			s.run(name, ref, now)
		}
	}
}

// claim takes the tick for this engine: always without a database; with
// one, only when no other engine ran the job within the interval.
func (s *scheduler) claim(name, plugin string, every time.Duration) bool {
	db := s.e.opts.DB
	if db == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tag, err := db.Exec(ctx, `insert into vbwd.jobs as j (plugin, name, next_run_at, last_node)
		values ($1, $2, now() + $3::interval, $4)
		on conflict (plugin, name) do update set next_run_at = excluded.next_run_at, last_node = excluded.last_node
		where j.next_run_at <= now() + interval '10 milliseconds'`,
		plugin, name, fmt.Sprintf("%d milliseconds", every.Milliseconds()), s.e.opts.NodeID)
	if err != nil {
		s.e.log.Warn("scheduler: claiming a job run failed", "job", name, "err", err)
		return false
	}
	return tag.RowsAffected() == 1
}

// run calls the job's function with {name, scheduled_at}; a failure is
// logged with file:line, never fatal.
func (s *scheduler) run(name string, ref regRef, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), s.e.opts.RequestTimeout)
	defer cancel()
	err := ref.run(ctx, func(st *State, v lua.LValue) error {
		L := st.L
		job := L.CreateTable(0, 2)
		job.RawSetString("name", lua.LString(name))
		job.RawSetString("scheduled_at", lua.LString(at.UTC().Format(time.RFC3339Nano)))
		L.Push(v)
		L.Push(job)
		if err := L.PCall(1, 0, nil); err != nil {
			return luavm.WithCtxErr(ctx, normalizeLuaError(ref.gen.Plugin, "job "+name, err))
		}
		return nil
	})
	if err != nil && err != ErrRetired {
		ref.gen.logger.Error("scheduled job failed", "job", name, "err", err)
		s.e.metrics.LuaErrors.WithLabelValues(ref.gen.Plugin, "job").Inc()
	}
}

// clock is the engine's time (Options.Clock, for tests).
func (e *Engine) clock() time.Time {
	if e.opts.Clock != nil {
		return e.opts.Clock()
	}
	return time.Now()
}
