package pgdev

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// debianBinGlob matches the server binary directories of Debian's
// postgresql-common layout, one per installed major version.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// FindBinDir returns the directory holding the initdb and postgres binaries:
// dir when not empty, else $VBWD_PG_BIN when set, else the newest
// /usr/lib/postgresql/*/bin, else the directory of initdb on PATH, else
// /usr/local/pgsql/bin. The error wraps ErrNoBinaries when none has them.
func FindBinDir(dir string) (string, error) {
	return findBinDir(dir, "")
}

// findBinDir is FindBinDir preferring the Debian directory of major version
// prefer (the version of an existing cluster) when neither dir nor
// $VBWD_PG_BIN names one.
func findBinDir(dir, prefer string) (string, error) {
	if dir != "" {
		return checkBinDir(dir)
	}
	if env := os.Getenv("VBWD_PG_BIN"); env != "" {
		bin, err := checkBinDir(env)
		if err != nil {
			return "", fmt.Errorf("VBWD_PG_BIN: %w", err)
		}
		return bin, nil
	}
	candidates := debianBinDirs(prefer)
	if initdb, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(initdb))
	}
	if postgres, err := exec.LookPath("postgres"); err == nil {
		candidates = append(candidates, filepath.Dir(postgres))
	}
	candidates = append(candidates, "/usr/local/pgsql/bin")
	for _, c := range candidates {
		if hasBinaries(c) {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("%w (searched %s, PATH and /usr/local/pgsql/bin)", ErrNoBinaries, debianBinGlob)
}

func checkBinDir(dir string) (string, error) {
	if !hasBinaries(dir) {
		return "", fmt.Errorf("%w (looked in %s)", ErrNoBinaries, dir)
	}
	return filepath.Abs(dir)
}

// hasBinaries reports whether dir holds executable initdb and postgres files.
func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// debianBinDirs lists the Debian server binary directories, newest major
// version first, except that the one of major version prefer comes first.
func debianBinDirs(prefer string) []string {
	dirs, _ := filepath.Glob(debianBinGlob)
	version := func(dir string) []int {
		var v []int
		for part := range strings.SplitSeq(filepath.Base(filepath.Dir(dir)), ".") {
			n, _ := strconv.Atoi(part)
			v = append(v, n)
		}
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int {
		return slices.Compare(version(b), version(a))
	})
	if prefer != "" {
		preferred := filepath.Join("/usr/lib/postgresql", prefer, "bin")
		if i := slices.Index(dirs, preferred); i > 0 {
			dirs = append([]string{preferred}, slices.Delete(dirs, i, i+1)...)
		}
	}
	return dirs
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// MajorVersion reports the major version of the postgres binary in binDir,
// e.g. 15, from `postgres -V`.
func MajorVersion(ctx context.Context, binDir string) (int, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "-V").Output()
	if err != nil {
		return 0, fmt.Errorf("postgres -V: %w", err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("postgres -V: unexpected output %q", strings.TrimSpace(string(out)))
	}
	return strconv.Atoi(string(m[1]))
}
