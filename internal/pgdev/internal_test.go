package pgdev

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeInfo is a directory's FileInfo as canSearch sees it.
type fakeInfo struct {
	mode     fs.FileMode
	uid, gid uint32
}

func (f fakeInfo) Name() string       { return "d" }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return fs.ModeDir | f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return true }
func (f fakeInfo) Sys() any           { return &syscall.Stat_t{Uid: f.uid, Gid: f.gid} }

func TestAccount_CanSearch(t *testing.T) {
	pg := &account{uid: 101, gid: 104, groups: []uint32{104, 103}}
	for _, tc := range []struct {
		name string
		fi   fakeInfo
		want bool
	}{
		{"root home 0700", fakeInfo{0o700, 0, 0}, false},
		{"world searchable", fakeInfo{0o755, 0, 0}, true},
		{"world search only", fakeInfo{0o711, 0, 0}, true},
		{"own dir", fakeInfo{0o700, 101, 104}, true},
		{"owner bits win over other", fakeInfo{0o055, 101, 0}, false},
		{"primary group", fakeInfo{0o750, 0, 104}, true},
		{"supplementary group", fakeInfo{0o710, 0, 103}, true},
		{"group bits win over other", fakeInfo{0o705, 0, 104}, false},
		{"foreign group", fakeInfo{0o750, 0, 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pg.canSearch(tc.fi); got != tc.want {
				t.Fatalf("canSearch(%v uid %d gid %d) = %v, want %v", tc.fi.mode, tc.fi.uid, tc.fi.gid, got, tc.want)
			}
		})
	}
}

func TestSocketDir(t *testing.T) {
	long := "/" + strings.Repeat("d", maxSocketPath-len("/.s.PGSQL.54321")-1)
	for _, tc := range []struct{ name, dir, want string }{
		{"short", "/srv/app/.data/postgres", "/srv/app/.data/postgres"},
		{"longest that fits", long, long},
		{"one byte too long", long + "x", ""},
		{"comma would split the list", "/srv/a,b/postgres", ""},
		{"spaces are fine", "/srv/my app/postgres", "/srv/my app/postgres"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := socketDir(tc.dir, "54321"); got != tc.want {
				t.Fatalf("socketDir(%q) = %q, want %q", tc.dir, got, tc.want)
			}
		})
	}
}

func TestReadPidFile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    pidFile
		wantOK  bool
	}{
		{"running", "5145\n/d\n1795680699\n54999\n/d\n127.0.0.1\n  9977904        12\nready   \n", pidFile{5145, 54999}, true},
		{"port not written yet", "5145\n/d\n", pidFile{5145, 0}, true},
		{"garbage", "not a pid\n", pidFile{}, false},
		{"standalone backend", "-77\n/d\n", pidFile{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, ok := readPidFile(dir)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("readPidFile = %+v, %v; want %+v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
	if _, ok := readPidFile(t.TempDir()); ok {
		t.Fatal("readPidFile reported a postmaster without a pid file")
	}
}

func TestPostmasterAlive(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc: the recycled-PID check needs it")
	}
	alive, recycled := postmasterAlive(os.Getpid()) // alive, but not postgres
	if alive || !recycled {
		t.Fatalf("postmasterAlive(own pid) = %v, %v; want false, true", alive, recycled)
	}
}
