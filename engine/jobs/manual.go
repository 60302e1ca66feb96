package jobs

import (
	"sort"
	"time"
)

// Manual jobs: with Options.ManualJobs (the test runner) the engine starts
// no scheduler loop; Advance (Engine.AdvanceJobs) runs the jobs as time passes on the test
// clock, synchronously, so that a test sees their effects right after
// t.time.advance.

// Advance adds d to the time every ctx:every job has waited and runs,
// once and in name order, each job whose interval has passed since it last
// ran (or since the test began) — as the scheduler does after a pause: it
// does not catch up on the runs it missed. It returns the number of runs.
// Without Config.Manual it does nothing.
func (s *Scheduler[R]) Advance(d time.Duration) int {
	if s == nil || !s.c.Manual {
		return 0
	}
	jobs := s.h.Jobs()
	names := make([]string, 0, len(jobs))
	for name := range jobs {
		names = append(names, name)
	}
	sort.Strings(names)
	now, runs := s.h.Now(), 0
	for _, name := range names {
		ref := jobs[name]
		every := Interval(ref.Registration())
		s.mu.Lock()
		if s.waited == nil {
			s.waited = map[string]time.Duration{}
		}
		s.waited[name] += d
		due := s.waited[name] >= every
		if due {
			s.waited[name] = 0
		}
		s.mu.Unlock()
		if due {
			s.run(name, ref, now)
			runs++
		}
	}
	return runs
}
