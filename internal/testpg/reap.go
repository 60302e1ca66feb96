package testpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

// reapOrphans stops and removes the throwaway clusters of test processes
// that died without Stop: a -timeout panic skips deferred calls, a SIGKILL
// leaves no chance, and the postmaster, in its own process group, outlives
// them. A directory whose owner PID is alive, or whose name carries none
// (the template), is left alone.
func reapOrphans(ctx context.Context) { reapOrphansIn(ctx, dirPrefix) }

// reapOrphansIn reaps the directories <tmp>/<prefix><pid>-*.
func reapOrphansIn(ctx context.Context, prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, dir := range dirs {
		pidText, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(dir), prefix), "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		if pgdev.Kill(ctx, filepath.Join(dir, "postgres")) == nil {
			_ = os.RemoveAll(dir)
		}
	}
}

// processAlive reports whether pid runs: kill(pid, 0) finds it and /proc,
// where there is one, does not call it a zombie (a killed test process stays
// one until its new parent reaps it).
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	end := strings.LastIndexByte(string(stat), ')') // after "<pid> (<comm>"
	return end < 0 || end+2 >= len(stat) || stat[end+2] != 'Z'
}
