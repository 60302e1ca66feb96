package pgdev

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Backoff between failed relaunches of a supervised postmaster.
const (
	restartBackoffMin = 500 * time.Millisecond
	restartBackoffMax = 30 * time.Second
)

// ErrStopped reports a Restart of a cluster being stopped.
var ErrStopped = errors.New("the PostgreSQL cluster is stopped")

// Supervise keeps the postmaster this Cluster launched running until Stop
// is called or ctx ends: when it exits on its own (killed, crashed, out of
// memory), it is launched again with the same options and port — clients
// such as a pgx pool reconnect to the same URL — retrying with backoff
// (0.5 s doubling to 30 s) while launches fail. Each death and restart is
// logged. A cluster found running (not launched by this process) is not
// supervised: it is not this process's child.
func (c *Cluster) Supervise(ctx context.Context) {
	if c.current() == nil {
		c.log.Warn("pgdev: the PostgreSQL server was already running, not started here: it is not supervised", "data_dir", c.dataDir)
		return
	}
	go c.supervise(ctx)
}

func (c *Cluster) supervise(ctx context.Context) {
	for {
		p := c.current()
		select {
		case <-p.exited:
		case <-ctx.Done():
			return
		}
		if c.isStopping() {
			return
		}
		c.log.Error("pgdev: PostgreSQL exited unexpectedly; restarting it", "data_dir", c.dataDir,
			"pid", p.cmd.Process.Pid, "exit", fmt.Sprint(p.waitErr), "log", c.dataDir+".log")
		wait := restartBackoffMin
		for {
			err := c.Restart(ctx)
			if err == nil {
				break
			}
			if errors.Is(err, ErrStopped) || ctx.Err() != nil {
				return
			}
			c.log.Error("pgdev: restarting PostgreSQL failed; retrying", "in", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			wait = min(2*wait, restartBackoffMax)
		}
	}
}

func (c *Cluster) isStopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopping
}

// PID is the running postmaster's process id; 0 for a cluster found running.
func (c *Cluster) PID() int {
	if p := c.current(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Restart launches the postmaster again with the options and port it was
// started with, once the previous one has exited (it waits up to 5 s for
// that, then fails); it does nothing while the postmaster runs. Backends
// the dead postmaster left behind are killed first: they would hold its
// shared memory and the new postmaster would refuse to start.
func (c *Cluster) Restart(ctx context.Context) error {
	c.restartMu.Lock()
	defer c.restartMu.Unlock()
	c.mu.Lock()
	p, stopping := c.proc, c.stopping
	c.mu.Unlock()
	switch {
	case stopping:
		return ErrStopped
	case p == nil:
		return errors.New("pgdev: the PostgreSQL server was not started here; it cannot be restarted")
	}
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		// a postmaster killed a moment ago may not be reaped yet: only one
		// still running after this long is left alone
		return nil
	}
	killGroup(p.cmd.Process.Pid)
	began := time.Now()
	np, err := c.s.launch(c.port)
	if err != nil {
		return err
	}
	if err := c.waitReady(ctx, np); err != nil {
		np.kill()
		return err
	}
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		_ = c.stop(context.WithoutCancel(ctx), np)
		return ErrStopped
	}
	c.proc = np
	c.mu.Unlock()
	c.log.Warn("pgdev: restarted PostgreSQL", "data_dir", c.dataDir, "port", c.port,
		"pid", np.cmd.Process.Pid, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// killGroup kills what is left of a dead postmaster's process group (it
// was launched as the group's leader) and waits up to killTimeout for it to
// be gone.
func killGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGKILL) != nil {
		return // nothing left
	}
	deadline := time.Now().Add(killTimeout)
	for time.Now().Before(deadline) && syscall.Kill(-pgid, 0) == nil {
		time.Sleep(pollInterval)
	}
}
