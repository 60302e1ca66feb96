package pgdev

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxSocketPath is the room for a unix socket path (sun_path less its NUL).
const maxSocketPath = 107

// pidFile is what postmaster.pid says about the postmaster owning a data
// directory: line 1 its PID, line 4 its port.
type pidFile struct {
	pid  int
	port int
}

// readPidFile reads <dataDir>/postmaster.pid; ok is false when there is none
// (or it does not start with a PID).
func readPidFile(dataDir string) (pf pidFile, ok bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return pidFile{}, false
	}
	lines := strings.Split(string(b), "\n")
	pf.pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pf.pid <= 0 {
		return pidFile{}, false
	}
	if len(lines) > 3 {
		pf.port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	return pf, true
}

// postmasterAlive reports whether pid is a live process, checked with
// kill(pid, 0). Where /proc says more, a zombie counts as dead and a live
// process not named postgres as recycled: it took over the PID of a dead
// postmaster.
func postmasterAlive(pid int) (alive, recycled bool) {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true, false
	}
	// "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses.
	s := string(stat)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 >= len(s) {
		return true, false
	}
	if comm := s[open+1 : end]; comm != "postgres" && comm != "postmaster" {
		return false, true
	}
	return s[end+2] != 'Z', false
}

// serverArgs is the postgres command line for this data directory.
func (s *starter) serverArgs(port int) []string {
	p := strconv.Itoa(port)
	args := []string{
		"-D", s.dataDir, "-p", p,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + socketDir(s.dataDir, p),
		"-c", "max_connections=200",
	}
	if !s.durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	return args
}

// socketDir is the data directory itself when the socket path fits in a
// sockaddr_un and parses as a one-element list, else "" (no unix socket:
// clients use TCP anyway).
func socketDir(dataDir, port string) string {
	if len(dataDir)+len("/.s.PGSQL.")+len(port) > maxSocketPath || strings.ContainsAny(dataDir, `,"`) {
		return ""
	}
	return dataDir
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before postgres binds it; run retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping connects to url and pings the server.
func ping(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = 2 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Kill stops the postmaster running on dataDir, whoever started it, with an
// immediate shutdown (SIGQUIT) and waits until it is gone; it is a no-op
// when none runs. testpg uses it to clean up after test processes that died
// without stopping their cluster.
func Kill(ctx context.Context, dataDir string) error {
	pf, ok := readPidFile(dataDir)
	if !ok {
		return nil
	}
	if alive, _ := postmasterAlive(pf.pid); !alive {
		return nil
	}
	if err := syscall.Kill(pf.pid, syscall.SIGQUIT); err != nil {
		return fmt.Errorf("kill postgres (pid %d): %w", pf.pid, err)
	}
	for {
		if alive, _ := postmasterAlive(pf.pid); !alive {
			return nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("kill postgres (pid %d): %w", pf.pid, err)
		}
	}
}
