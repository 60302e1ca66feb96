package pgdev

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// chooseDataDir returns the absolute data directory to use: dataDir, or,
// when the account cannot reach it, a per-project fallback under the system
// temp dir, which prepareFallback must then set up.
func chooseDataDir(dataDir string, acct *account) (dir string, fallback bool, err error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", false, fmt.Errorf("data directory: %w", err)
	}
	if acct.canReach(filepath.Dir(abs)) {
		return abs, false, nil
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), "vbwd-"+hex.EncodeToString(sum[:6]), "postgres"), true, nil
}

// prepareFallback says why the fallback data directory is used and creates
// its parent for the account.
func (s *starter) prepareFallback(requested string) error {
	requested, _ = filepath.Abs(requested)
	s.log.Warn("pgdev: the postgres user cannot reach the data directory (an ancestor directory denies it "+
		"search permission, e.g. a 0700 home); using a per-project directory under the system temp dir instead",
		"data_dir", requested, "fallback", s.dataDir)
	parent := filepath.Dir(s.dataDir)
	if err := s.acct.mkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("fallback data directory: %w", err)
	}
	if err := checkOwner(parent, s.acct); err != nil {
		return fmt.Errorf("fallback data directory: %w", err)
	}
	if !s.acct.canReach(parent) {
		return fmt.Errorf("fallback data directory %s: not reachable by the postgres user either", parent)
	}
	return nil
}

// checkOwner refuses a directory that neither this process's user nor the
// account owns: in a shared temp dir, someone else could have planted it.
func checkOwner(dir string, acct *account) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || (ok && int(st.Uid) != os.Geteuid() && !(acct != nil && acct.owns(fi))) {
		return fmt.Errorf("%s is not a directory of this user or of postgres", dir)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// initialize makes sure the data directory holds a cluster belonging to the
// account. A new cluster is built in <datadir>.init and renamed into place,
// so an interrupted initialization never leaves a half-made data directory.
func (s *starter) initialize(ctx context.Context) error {
	if fi, err := os.Stat(s.dataDir); err == nil && fileExists(filepath.Join(s.dataDir, "PG_VERSION")) {
		return s.adopt(fi)
	}
	if err := s.acct.mkdirAll(filepath.Dir(s.dataDir), 0o755); err != nil {
		return fmt.Errorf("create data directory parent: %w", err)
	}
	staging := s.dataDir + ".init"
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("remove leftover %s: %w", staging, err)
	}
	if err := s.populate(ctx, staging); err != nil {
		_ = os.RemoveAll(staging)
		return err
	}
	if err := os.Remove(s.dataDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = os.RemoveAll(staging)
		return fmt.Errorf("data directory %s is not empty but holds no cluster (no PG_VERSION): %w", s.dataDir, err)
	}
	return os.Rename(staging, s.dataDir)
}

// adopt hands an existing cluster over to the account when another user
// initialized it, and restricts its mode to what postgres accepts.
func (s *starter) adopt(fi fs.FileInfo) error {
	if !s.acct.owns(fi) {
		s.log.Info("pgdev: handing the data directory over to the postgres user", "data_dir", s.dataDir)
		if err := s.acct.chownTree(s.dataDir); err != nil {
			return fmt.Errorf("chown data directory: %w", err)
		}
	}
	if fi.Mode().Perm()&0o027 != 0 {
		return os.Chmod(s.dataDir, 0o700)
	}
	return nil
}

// populate fills dir (which must not exist) with a fresh cluster: a copy of
// the template when there is one, else initdb.
func (s *starter) populate(ctx context.Context, dir string) error {
	if s.template == "" {
		return s.initdb(ctx, dir, s.durable)
	}
	err := s.ensureTemplate(ctx)
	if err == nil {
		if err = copyTree(s.template, dir, s.acct); err == nil {
			return nil
		}
	}
	s.log.Warn("pgdev: cannot use the template cluster, running initdb instead", "template", s.template, "err", err)
	_ = os.RemoveAll(dir)
	return s.initdb(ctx, dir, s.durable)
}

// ensureTemplate runs initdb into the template directory once: under a lock,
// into a temporary directory atomically renamed into place.
func (s *starter) ensureTemplate(ctx context.Context) error {
	marker := filepath.Join(s.template, "PG_VERSION")
	if _, err := os.Stat(marker); errors.Is(err, fs.ErrPermission) {
		return err // another user's template
	}
	if !fileExists(marker) {
		if err := s.acct.mkdirAll(filepath.Dir(s.template), 0o755); err != nil {
			return err
		}
		unlock, err := lockFile(ctx, s.template+".lock")
		if err != nil {
			return err
		}
		defer unlock()
	}
	if fileExists(marker) {
		return checkOwner(s.template, s.acct)
	}
	staging := fmt.Sprintf("%s.tmp-%d", s.template, os.Getpid())
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	err := s.initdb(ctx, staging, false)
	if err == nil {
		err = os.Rename(staging, s.template)
	}
	if err != nil {
		_ = os.RemoveAll(staging)
	}
	return err
}

// initdb creates dir as a new cluster with a trusted postgres superuser;
// without sync it skips the final fsync (throwaway and template clusters).
func (s *starter) initdb(ctx context.Context, dir string, sync bool) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	if err := s.acct.chown(dir); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	args := []string{"-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"}
	if !sync {
		args = append(args, "--no-sync")
	}
	out, err := s.acct.command(ctx, filepath.Join(s.binDir, "initdb"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb %s: %w: %s", dir, err, lastLines(out, 20))
	}
	return nil
}

// copyTree copies the cluster src into the new directory dst, keeping modes
// and handing every entry over to the account.
func copyTree(src, dst string, acct *account) error {
	if err := checkOwner(src, acct); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			err = os.Mkdir(target, fi.Mode().Perm())
			if err == nil {
				err = os.Chmod(target, fi.Mode().Perm())
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			var link string
			if link, err = os.Readlink(p); err == nil {
				err = os.Symlink(link, target)
			}
		case fi.Mode().IsRegular():
			err = copyFile(p, target, fi.Mode().Perm())
		default:
			return nil // sockets and the like belong to a running server
		}
		if err != nil {
			return err
		}
		return acct.chown(target)
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(perm)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// lastLines returns the last n lines of b, trimmed.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
