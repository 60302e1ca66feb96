package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	"github.com/vbwd-platform/vbwd-engine/internal/pgdev"
)

// writePGO records the CPU profile Go's profile-guided optimization builds
// `vbwd` with (cmd/vbwd/default.pgo, which `go build` picks up by itself):
// one `vbwd serve` of the benchmark root under wrk, each route in turn for
// dur, profiled through its --pprof listener for the whole run. The profile
// is what the benchmark measures — the request path, the Lua VM, the data
// layer, events, DI, JWT — so the compiler inlines and lays out what that
// path calls most.
func writePGO(ctx context.Context, c config, dst string) error {
	if err := haveWrk(); err != nil {
		return err
	}
	vbwd, err := filepath.Abs(c.vbwd)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "vbwd-pgo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	_ = os.Chmod(work, 0o755)
	root := filepath.Join(work, "root")
	if err := writeRoot(root); err != nil {
		return err
	}
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		cl, err := pgdev.Start(ctx, pgdev.Options{DataDir: filepath.Join(work, "postgres")})
		if err != nil {
			return fmt.Errorf("PostgreSQL: %w", err)
		}
		defer func() { _ = cl.Stop(context.Background()) }()
		dbURL = cl.URL()
	}
	routes, err := selectRoutes(c.routes)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, vbwd, "serve", "--root", root, "--addr", addr, "--pprof", pprofAddr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "VBWD_JWT_SECRET="+jwtSecret)
	logFile := filepath.Join(work, "vbwd.log")
	logf, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	base := "http://" + addr
	tok, err := auth.Mint(jwtSecret, "bench-user", []string{"reader"}, time.Hour, time.Now())
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if err := waitReady(base+rt.path, rt, tok, logFile); err != nil {
			return err
		}
	}
	// the profile covers every route's load and a second more
	secs := int((time.Duration(len(routes))*c.duration + time.Second).Seconds())
	type got struct {
		b   []byte
		err error
	}
	prof := make(chan got, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs))
		if err != nil {
			prof <- got{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("profile: %s: %s", resp.Status, b)
		}
		prof <- got{b, err}
	}()
	for _, rt := range routes {
		script, err := wrkScript(work, rt, tok)
		if err != nil {
			return err
		}
		w, err := runWrk(base+rt.path, c.duration, c.conns, script)
		if err != nil {
			return fmt.Errorf("%s: %w", rt.name, err)
		}
		fmt.Printf("pgo: %-7s %8.0f req/s\n", rt.name, w.rps)
	}
	p := <-prof
	if p.err != nil {
		return p.err
	}
	if err := os.WriteFile(dst, p.b, 0o644); err != nil {
		return err
	}
	fmt.Printf("pgo: wrote %s (%d bytes); `go build ./cmd/vbwd` uses it\n", dst, len(p.b))
	return nil
}
