package pgdev

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// account is the OS identity PostgreSQL processes run as. A nil *account
// means the current user (this process is not root); otherwise it is the
// postgres user, and every method drops to it or hands files over to it.
type account struct {
	uid, gid uint32
	groups   []uint32 // supplementary groups, including gid
}

// lookupAccount returns nil when this process is not root, else the postgres
// user.
func lookupAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		// a static build (CGO_ENABLED=0, as make build and the releases are)
		// reads only /etc/passwd: ask NSS (LDAP, sssd) through getent
		var gerr error
		if u, gerr = getentUser("postgres"); gerr != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoPostgresUser, err)
		}
	}
	a := &account{}
	if a.uid, err = parseID(u.Uid); err != nil {
		return nil, err
	}
	if a.gid, err = parseID(u.Gid); err != nil {
		return nil, err
	}
	a.groups = []uint32{a.gid}
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if id, err := parseID(g); err == nil && !slices.Contains(a.groups, id) {
			a.groups = append(a.groups, id)
		}
	}
	return a, nil
}

// getentUser looks name up through the C library's NSS with getent(1).
func getentUser(name string) (*user.User, error) {
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil {
		return nil, err
	}
	return parsePasswdLine(strings.TrimSpace(string(out)))
}

// parsePasswdLine reads one passwd(5) line: name:password:uid:gid:gecos:home:shell.
func parsePasswdLine(line string) (*user.User, error) {
	f := strings.Split(line, ":")
	if len(f) < 7 || f[0] == "" {
		return nil, fmt.Errorf("not a passwd line: %q", line)
	}
	return &user.User{Username: f[0], Uid: f[2], Gid: f[3], Name: f[4], HomeDir: f[5]}, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("postgres user: bad id %q: %w", s, err)
	}
	return uint32(n), nil
}

// command prepares a PostgreSQL program to run as the account, from "/" (the
// account may not reach this process's working directory).
func (a *account) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if a != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}
	}
	return cmd
}

// chown hands path over to the account (no-op for the current user).
func (a *account) chown(path string) error {
	if a == nil {
		return nil
	}
	return os.Lchown(path, int(a.uid), int(a.gid))
}

// chownTree hands a whole tree over to the account.
func (a *account) chownTree(root string) error {
	if a == nil {
		return nil
	}
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return a.chown(p)
	})
}

// owns reports whether fi belongs to the account.
func (a *account) owns(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if a == nil || !ok {
		return true
	}
	return st.Uid == a.uid
}

// mkdirAll creates dir and its missing parents with mode perm and hands the
// ones it created over to the account.
func (a *account) mkdirAll(dir string, perm fs.FileMode) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := a.mkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	if err := os.Chmod(dir, perm); err != nil { // undo the umask
		return err
	}
	return a.chown(dir)
}

// canReach reports whether the account may search every existing directory
// on the way to dir, dir included; missing ones would be created 0755.
func (a *account) canReach(dir string) bool {
	if a == nil {
		return true
	}
	for p := dir; ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && !a.canSearch(fi) {
			return false
		}
		if filepath.Dir(p) == p {
			return true
		}
	}
}

// canSearch applies the owner, group or other execute bit of fi, as the
// kernel does, to the account.
func (a *account) canSearch(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == a.uid:
		return perm&0o100 != 0
	case slices.Contains(a.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
