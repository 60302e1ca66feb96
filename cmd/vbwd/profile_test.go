package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestProfileFlags: --cpuprofile and --memprofile write gzipped pprof files
// when the serve run stops, and --pprof answers /debug/pprof/ on its own
// listener.
func TestProfileFlags(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := profileFlags{cpuProfile: filepath.Join(dir, "cpu.out"), memProfile: filepath.Join(dir, "mem.out"), pprofAddr: addr}
	stop, err := p.start(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	resp.Body.Close()
	stop()
	if resp.StatusCode != 200 {
		t.Errorf("/debug/pprof/ answered %d", resp.StatusCode)
	}
	for _, f := range []string{p.cpuProfile, p.memProfile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not a gzipped profile (%d bytes)", f, len(b))
		}
	}
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Error("the pprof listener still answers after stop")
	}
}
