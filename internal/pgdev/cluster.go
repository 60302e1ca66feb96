package pgdev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	startTimeout = 60 * time.Second // for a postmaster to accept connections
	stopTimeout  = 30 * time.Second // for a fast shutdown before SIGQUIT
	killTimeout  = 5 * time.Second  // for an immediate shutdown before SIGKILL
	pollInterval = 50 * time.Millisecond
	startRetries = 3 // launches on a picked port, which another process may take first
)

// Options configures Start. Only DataDir is required.
type Options struct {
	// DataDir is the cluster directory, e.g. <root>/.data/postgres.
	DataDir string
	// BinDir holds initdb and postgres; see FindBinDir for the search made
	// when it is empty.
	BinDir string
	// Database is created when missing; default "vbwd".
	Database string
	// Logger gets the launcher's own messages; default slog.Default().
	Logger *slog.Logger
	// Durable keeps PostgreSQL's crash safety (`vbwd serve`). When false
	// (tests), fsync, synchronous_commit and full_page_writes are off.
	Durable bool
	// Port is the loopback TCP port; 0 picks a free one.
	Port int
	// Template, when set, is a cache directory holding an initialized
	// cluster: a new DataDir becomes a copy of it instead of running initdb,
	// and the first Start to need it runs initdb into it (under a lock,
	// renamed into place). Its name should carry the major version (see
	// MajorVersion). testpg uses it to make throwaway clusters cheap.
	Template string
}

// Cluster is a running PostgreSQL server on a data directory, started by
// this process or found running.
type Cluster struct {
	dataDir string
	port    int
	db      string
	log     *slog.Logger

	s *starter // how it was launched; nil when it was found running

	restartMu sync.Mutex // one Restart at a time
	mu        sync.Mutex
	proc      *process // the postmaster; nil when it was found running
	stopping  bool     // Stop was called: an exit is not a death to repair

	stopOnce sync.Once
	stopErr  error
}

// process is one launch of the postmaster.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd has exited
	waitErr error         // cmd.Wait's result, written before exited closes
}

// current is the postmaster this cluster runs now (nil when reused).
func (c *Cluster) current() *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proc
}

// starter holds the resolved Options of one Start.
type starter struct {
	dataDir, binDir, template, database string
	durable                             bool
	port                                int
	acct                                *account
	log                                 *slog.Logger
}

// Start makes sure a postmaster runs on o.DataDir, initializing the cluster
// first when the directory holds none, and creates o.Database when missing.
// A postmaster already running there is reused: the returned Cluster's Stop
// then leaves it alone. The error wraps ErrNoBinaries when initdb and
// postgres cannot be found.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	s, err := newStarter(o)
	if err != nil {
		return nil, err
	}
	c, err := s.start(ctx)
	if err != nil {
		return nil, err
	}
	if err := ensureDatabase(ctx, c.URLFor("postgres"), s.database); err != nil {
		_ = c.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create database %s: %w", s.database, err)
	}
	return c, nil
}

func newStarter(o Options) (*starter, error) {
	if o.DataDir == "" {
		return nil, errors.New("no data directory given")
	}
	s := &starter{template: o.Template, database: o.Database, durable: o.Durable, port: o.Port, log: o.Logger}
	if s.database == "" {
		s.database = "vbwd"
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	var err error
	if s.acct, err = lookupAccount(); err != nil {
		return nil, err
	}
	var fallback bool
	if s.dataDir, fallback, err = chooseDataDir(o.DataDir, s.acct); err != nil {
		return nil, err
	}
	version, _ := os.ReadFile(filepath.Join(s.dataDir, "PG_VERSION"))
	if s.binDir, err = findBinDir(o.BinDir, strings.TrimSpace(string(version))); err != nil {
		return nil, err
	}
	if fallback {
		if err := s.prepareFallback(o.DataDir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// start reuses or launches the postmaster, holding <datadir>.lock so that
// concurrent Starts on one directory launch it once.
func (s *starter) start(ctx context.Context) (*Cluster, error) {
	if err := s.acct.mkdirAll(filepath.Dir(s.dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("create data directory parent: %w", err)
	}
	unlock, err := lockFile(ctx, s.dataDir+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	port, running, err := s.findRunning(ctx)
	if err != nil {
		return nil, err
	}
	if running {
		s.log.Info("pgdev: reusing the PostgreSQL server running on the data directory", "data_dir", s.dataDir, "port", port)
		return &Cluster{dataDir: s.dataDir, port: port, db: s.database, log: s.log}, nil
	}
	if err := s.initialize(ctx); err != nil {
		return nil, err
	}
	return s.run(ctx)
}

// findRunning looks for a live postmaster on the data directory that
// accepts connections, waiting while one is starting or stopping. A stale
// postmaster.pid is left for postgres to remove, unless its PID now belongs
// to another program (postgres would then refuse to start).
func (s *starter) findRunning(ctx context.Context) (port int, running bool, err error) {
	deadline := time.Now().Add(startTimeout)
	for {
		pf, ok := readPidFile(s.dataDir)
		if !ok {
			return 0, false, nil
		}
		alive, recycled := postmasterAlive(pf.pid)
		if recycled {
			_ = os.Remove(filepath.Join(s.dataDir, "postmaster.pid"))
		}
		if !alive {
			return 0, false, nil
		}
		if pf.port > 0 && ping(ctx, urlFor(pf.port, "postgres")) == nil {
			return pf.port, true, nil
		}
		if time.Now().After(deadline) {
			return 0, false, fmt.Errorf("%w: postmaster (pid %d) holds %s but does not answer on port %d",
				ErrNotReady, pf.pid, s.dataDir, pf.port)
		}
		if err := sleep(ctx, pollInterval); err != nil {
			return 0, false, err
		}
	}
}

// run launches a postmaster and waits until it accepts connections, trying
// another port when a picked one was taken meanwhile.
func (s *starter) run(ctx context.Context) (*Cluster, error) {
	for attempt := 1; ; attempt++ {
		port := s.port
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		began := time.Now()
		c := &Cluster{dataDir: s.dataDir, port: port, db: s.database, log: s.log, s: s}
		p, err := s.launch(port)
		if err != nil {
			return nil, err
		}
		c.proc = p
		if err = c.waitReady(ctx, p); err == nil {
			s.log.Info("pgdev: started PostgreSQL", "data_dir", s.dataDir, "port", port,
				"pid", p.cmd.Process.Pid, "log", s.dataDir+".log", "took", time.Since(began).Round(time.Millisecond))
			return c, nil
		}
		p.kill()
		if s.port != 0 || attempt == startRetries || !errors.Is(err, errPortInUse) {
			return nil, err
		}
	}
}

// launch starts the postmaster in its own process group, its output going
// to <datadir>.log (the previous one kept as <datadir>.log.1).
func (s *starter) launch(port int) (*process, error) {
	logPath := s.dataDir + ".log"
	_ = os.Rename(logPath, logPath+".1")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("postgres log: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := s.acct.command(context.Background(), filepath.Join(s.binDir, "postgres"), s.serverArgs(port)...)
	cmd.SysProcAttr.Setpgid = true // a Ctrl-C at the terminal is for the engine, which stops us after draining
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls until the postmaster accepts connections; it fails early
// when the postmaster exits, quoting the end of its log.
func (c *Cluster) waitReady(ctx context.Context, p *process) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		if ping(ctx, c.URLFor("postgres")) == nil {
			return nil
		}
		select {
		case <-p.exited:
			tail := c.logTail()
			if strings.Contains(tail, "could not bind") || strings.Contains(tail, "already in use") {
				return fmt.Errorf("%w: port %d: %s", errPortInUse, c.port, tail)
			}
			return fmt.Errorf("postgres exited during startup (%v), end of %s.log:\n%s", p.waitErr, c.dataDir, tail)
		case <-deadline.C:
			return fmt.Errorf("%w (%s), end of %s.log:\n%s", ErrNotReady, startTimeout, c.dataDir, c.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.dataDir + ".log")
	return lastLines(b, 15)
}

// URL is the connection URL of the Database given to Start.
func (c *Cluster) URL() string { return c.URLFor(c.db) }

// Port is the loopback TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// URLFor is the connection URL of database db on this server.
func (c *Cluster) URLFor(db string) string { return urlFor(c.port, db) }

func urlFor(port int, db string) string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/" + url.PathEscape(db) + "?sslmode=disable"
}

// DataDir is the data directory in use: Options.DataDir, or the fallback
// under the system temp dir when the postgres user could not reach it.
func (c *Cluster) DataDir() string { return c.dataDir }

// Stop shuts the server down (fast shutdown: SIGINT to the postmaster) and
// waits for it; after 30s, or when ctx ends first, it escalates to SIGQUIT
// and then SIGKILL. It is a no-op when this process did not start the server,
// and calling it again returns the first call's result.
func (c *Cluster) Stop(ctx context.Context) error {
	if c == nil || c.current() == nil {
		return nil
	}
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopping = true // the supervisor, if any, stops restarting
		p := c.proc
		c.mu.Unlock()
		c.stopErr = c.stop(ctx, p)
	})
	return c.stopErr
}

func (c *Cluster) stop(ctx context.Context, p *process) error {
	pid := p.cmd.Process.Pid
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
		c.log.Info("pgdev: stopped PostgreSQL", "data_dir", c.dataDir, "pid", pid)
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	p.kill()
	return fmt.Errorf("postgres (pid %d) did not finish a fast shutdown in time and was killed", pid)
}

// kill makes an immediate shutdown (SIGQUIT), then SIGKILL, and waits.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	t := time.NewTimer(killTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
