package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRelease_Archive runs `make release`'s script for this machine's
// OS/arch and installs the result as a user would: the archive holds the
// binary, the docs, the license and the plugins; SHA256SUMS matches; the
// binary names its revision and lists the shipped plugins of the archive.
func TestRelease_Archive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	dist := t.TempDir()
	target := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("scripts/release.sh")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "DIST="+dist, "TARGETS="+target, "VERSION=v9.9.9-test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}
	name := "vbwd-v9.9.9-test-" + runtime.GOOS + "-" + runtime.GOARCH
	archive := filepath.Join(dist, name+".tar.gz")
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if want := hex.EncodeToString(sum[:]) + "  " + name + ".tar.gz\n"; string(sums) != want {
		t.Errorf("SHA256SUMS = %q, want %q", sums, want)
	}
	into := t.TempDir()
	files := untar(t, b, into)
	for _, want := range []string{"vbwd", "LICENSE", "README.md", "docs/ops.md", "docs/plugin-guide.md",
		"docs/examples/plugins/webhook/init.lua", "plugins/hello/init.lua", "plugins.json", "config.json",
		"contrib/systemd/vbwd.service", "compose.yaml", "Dockerfile"} {
		if !files[name+"/"+want] {
			t.Errorf("the archive lacks %s", want)
		}
	}
	for f := range files {
		if strings.Contains(f, "/.data") || strings.HasSuffix(f, ".test") {
			t.Errorf("the archive holds local state: %s", f)
		}
	}
	bin := filepath.Join(into, name, "vbwd")
	rev, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "vbwd v9.9.9-test ("+strings.TrimSpace(string(rev))) {
		t.Errorf("vbwd version: %v %q, want the version and revision %s", err, out, rev)
	}
	list := exec.Command(bin, "plugin", "list", "--root", filepath.Join(into, name))
	list.Env = append(os.Environ(), "DATABASE_URL=")
	if out, err := list.CombinedOutput(); err != nil || !strings.Contains(string(out), "hello") || !strings.Contains(string(out), "meinchat") {
		t.Errorf("vbwd plugin list in the unpacked archive: %v\n%s", err, out)
	}
}

// untar unpacks a .tar.gz into dir and returns the names of its files.
func untar(t *testing.T, b []byte, dir string) map[string]bool {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s is owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		files[strings.TrimSuffix(h.Name, "/")] = true
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, os.FileMode(h.Mode)&0o755|0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// dockerfile is the parsed Dockerfile: instructions per stage.
type dockerStage struct {
	name  string
	instr [][2]string // keyword, arguments
}

func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []dockerStage
	sc := bufio.NewScanner(f)
	line := ""
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			line += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		line += l
		kw, args, _ := strings.Cut(line, " ")
		line = ""
		kw = strings.ToUpper(kw)
		if kw == "FROM" {
			f := strings.Fields(args)
			st := dockerStage{}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", path, kw)
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, [2]string{kw, strings.TrimSpace(args)})
	}
	return stages
}

// TestDockerfile_BuildAndRun: with no Docker engine at hand, run what the
// Dockerfile runs. The build stage's RUN commands run in the repository
// (what `COPY . .` gives them) with /out in a temp dir; the final stage must
// run as a non-root user, start the binary the build stage made and serve
// the root it copied: the test starts that binary with the final stage's
// ENV, CMD and a DATABASE_URL (the address moved to a free loopback port) and
// expects the shipped plugins to answer.
func TestDockerfile_BuildAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	stages := parseDockerfile(t, filepath.Join(repo, "Dockerfile"))
	if len(stages) < 2 || stages[0].name == "" {
		t.Fatalf("want a named build stage and a final stage, got %d stages", len(stages))
	}
	out := t.TempDir()
	env := os.Environ()
	for _, in := range stages[0].instr {
		switch in[0] {
		case "ARG":
			k, v, _ := strings.Cut(in[1], "=")
			env = append(env, k+"="+strings.Trim(v, `"`))
		case "RUN":
			run := strings.ReplaceAll(in[1], "/out", out)
			cmd := exec.Command("sh", "-c", run)
			cmd.Dir, cmd.Env = repo, env
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("RUN %s: %v\n%s", in[1], err, b)
			}
		}
	}
	final := stages[len(stages)-1]
	copied := map[string]string{} // image path -> where the build stage left it
	runEnv := map[string]string{}
	var user, entry, command []string
	for _, in := range final.instr {
		f := strings.Fields(in[1])
		switch in[0] {
		case "COPY":
			if !strings.HasPrefix(f[0], "--from="+stages[0].name) {
				t.Errorf("final stage COPY %s: not from the build stage", in[1])
				continue
			}
			copied[f[len(f)-1]] = strings.Replace(f[len(f)-2], "/out", out, 1)
		case "ENV":
			for _, kv := range f {
				k, v, _ := strings.Cut(kv, "=")
				runEnv[k] = v
			}
		case "USER":
			user = f
		case "ENTRYPOINT":
			entry = jsonArray(t, in[1])
		case "CMD":
			command = jsonArray(t, in[1])
		}
	}
	if len(user) != 1 || strings.HasPrefix(user[0], "0") || strings.HasPrefix(user[0], "root") {
		t.Errorf("final stage USER %v: want a non-root user", user)
	}
	if len(entry) == 0 || copied[entry[0]] == "" {
		t.Fatalf("ENTRYPOINT %v is not a file copied from the build stage (%v)", entry, copied)
	}
	root := copied[runEnv["VBWD_ROOT"]]
	if root == "" {
		t.Fatalf("ENV VBWD_ROOT=%q is not a directory copied from the build stage", runEnv["VBWD_ROOT"])
	}
	if runEnv["VBWD_ADDR"] == "" || strings.HasPrefix(runEnv["VBWD_ADDR"], "127.") {
		t.Errorf("ENV VBWD_ADDR=%q: a container must listen beyond its loopback", runEnv["VBWD_ADDR"])
	}
	addr := freeAddr(t)
	cmd := exec.Command(copied[entry[0]], append(entry[1:], command...)...)
	cmd.Env = append(os.Environ(), "VBWD_ROOT="+root, "VBWD_ADDR="+addr, "DATABASE_URL="+pg.NewDatabase(t))
	for k, v := range runEnv {
		if k != "VBWD_ROOT" && k != "VBWD_ADDR" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitReady(t, "http://"+addr, &logs)
	if code, m := getJSON(t, "http://"+addr+"/api/v1/hello/world"); code != 200 || m["message"] == nil {
		t.Errorf("hello in the image's root: %d %v", code, m)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the container's command exited with %v after SIGTERM:\n%s", err, logs.String())
	}
}

func jsonArray(t *testing.T, s string) []string {
	t.Helper()
	var a []string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Fatalf("%s: want the exec (JSON array) form: %v", s, err)
	}
	return a
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, base string, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 90s:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSystemdUnit_Verifies: systemd accepts the example unit (with the
// binary path pointed at one that exists here).
func TestSystemdUnit_Verifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "contrib", "systemd", "vbwd.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.NewReplacer("ExecStart=/usr/local/bin/vbwd", "ExecStart=/bin/true",
		"EnvironmentFile=/etc/vbwd.env", "EnvironmentFile=-/etc/vbwd.env").Replace(string(b))
	if unit == string(b) || !strings.Contains(unit, "ExecStart=/bin/true serve") {
		t.Fatal("the unit's ExecStart is not /usr/local/bin/vbwd serve")
	}
	p := filepath.Join(t.TempDir(), "vbwd.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", p).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
