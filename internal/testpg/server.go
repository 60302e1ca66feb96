package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

// EnvURL names the variable pointing tests at an existing server instead.
const EnvURL = "VBWD_TEST_DATABASE_URL"

// dirPrefix starts the name of each throwaway cluster's temp dir, which
// goes on with the owning test process's PID: <tmp>/vbwd-testpg-<pid>-<random>.
const dirPrefix = "vbwd-testpg-"

const opTimeout = 2 * time.Minute

// Server is the database server of one test process.
type Server struct {
	url     string         // the server's postgres database, or EnvURL's value
	cluster *pgdev.Cluster // nil when EnvURL names the server
	dir     string         // the throwaway cluster's temp dir

	stopOnce sync.Once
}

// Start gives the calling test package a database server: the one named by
// VBWD_TEST_DATABASE_URL when set (Stop then leaves it alone), else a
// throwaway pgdev cluster in a fresh temp dir, removed on Stop.
func Start(ctx context.Context) (*Server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		if err := ping(ctx, u); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		return &Server{url: u}, nil
	}
	bin, err := pgdev.FindBinDir("")
	if err != nil {
		return nil, err
	}
	major, err := pgdev.MajorVersion(ctx, bin)
	if err != nil {
		return nil, err
	}
	reapOrphans(ctx)
	dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // MkdirTemp's 0700 would lock out the postgres user of a root run
		os.RemoveAll(dir)
		return nil, err
	}
	c, err := pgdev.Start(ctx, pgdev.Options{
		DataDir:  filepath.Join(dir, "postgres"),
		BinDir:   bin,
		Database: "postgres",
		Template: templateDir(major),
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Server{url: c.URL(), cluster: c, dir: dir}, nil
}

// templateDir is the cached template cluster for PostgreSQL major version
// major. Runs as root share it (their clusters belong to the postgres user);
// other users each get their own, as they could not read it.
func templateDir(major int) string {
	name := fmt.Sprintf("vbwd-testpg-template-%d", major)
	if uid := os.Geteuid(); uid != 0 {
		name += fmt.Sprintf("-uid%d", uid)
	}
	return filepath.Join(os.TempDir(), name)
}

// URL is the server's connection URL: its postgres database, or the value of
// VBWD_TEST_DATABASE_URL. Tests wanting isolation use NewDatabase.
func (s *Server) URL() string { return s.url }

// NewDatabase creates a fresh empty database with a unique name on the
// server and returns its URL; a cleanup registered on t drops it (WITH
// (FORCE), closing leftover connections). Call it from the test's goroutine:
// it fails t with t.Fatalf.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := databaseName(t.Name())
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := s.exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("testpg: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("testpg: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(s.url, name)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	return u
}

// Stop stops and removes the throwaway cluster; it does nothing for a
// server named by VBWD_TEST_DATABASE_URL. Calling it again does nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cluster == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := s.cluster.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "testpg: %v\n", err)
		}
		if err := os.RemoveAll(s.dir); err != nil {
			fmt.Fprintf(os.Stderr, "testpg: %v\n", err)
		}
	})
}

// Main is the TestMain helper:
//
//	func TestMain(m *testing.M) { testpg.Main(m, &srv) }
//
// It starts the server into *out, runs m, stops the server and exits with
// m's code. It fails (exit 1, telling how to install PostgreSQL) when the
// server cannot start: tests needing PostgreSQL must not silently skip. An
// interrupt (^C) stops the server before the process exits.
//
// After the tests pass it checks with goleak that no goroutine they started
// is still running (a test package that starts engines, listeners or pools
// must stop them all).
func Main(m *testing.M, out **Server) {
	code := run(m, out)
	if code == 0 {
		// Keep-alive connections tests left in the default client are
		// the client's, not a leak of the code under test.
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(goleak.IgnoreTopFunction("os/signal.signal_recv"),
			goleak.IgnoreTopFunction("github.com/vbwd-platform/vbwd-engine/internal/testpg.run.func1")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func run(m *testing.M, out **Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	srv, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testpg: cannot start the test database server: %v\n", err)
		if errors.Is(err, pgdev.ErrNoBinaries) {
			fmt.Fprintf(os.Stderr, "testpg: or set %s to a server tests may create databases on\n", EnvURL)
		}
		return 1
	}
	defer srv.Stop()
	*out = srv
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if sig, ok := <-sigs; ok {
			srv.Stop()
			fmt.Fprintf(os.Stderr, "testpg: %v: stopped the test database server\n", sig)
			os.Exit(1)
		}
	}()
	return m.Run()
}

// exec runs one statement on the server's own database.
func (s *Server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func ping(ctx context.Context, connString string) error {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// databaseName is a unique database name that still tells which test made
// it: test_<test name, lower-cased, [a-z0-9_] only, shortened>_<random>.
func databaseName(testName string) string {
	slug := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '_'
	}, testName)
	if len(slug) > 40 {
		slug = slug[:40]
	}
	random := make([]byte, 5)
	_, _ = rand.Read(random)
	return "test_" + slug + "_" + hex.EncodeToString(random)
}

// withDatabase points a connection string (URL or keyword/value form) at db.
func withDatabase(connString, db string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("server URL: %w", err)
		}
		u.Path, u.RawPath = "/"+db, ""
		return u.String(), nil
	}
	return connString + " dbname=" + db, nil // the last dbname wins
}
