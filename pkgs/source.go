package pkgs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// Source kinds.
const (
	KindGit     = "git"
	KindArchive = "archive"
	KindIndex   = "index"
)

// Source is what `vbwd plugin install <source>[@version]` names:
//
//	blog, blog@^1.2                      a plugin from the configured indexes
//	https://host/blog-1.2.0.tar.gz       an archive by URL or path (.tar.gz, .tgz)
//	https://host/org/blog.git@v1.2.0     a git repository (URL or local path),
//	../blog@v1.2.0, git+<repo>#<subdir>  at a tag or commit, the plugin at its
//	                                     root or in <subdir>
//
// Without a version a git source takes its newest semver tag (HEAD when it
// has none) and an index source its newest version.
type Source struct {
	Kind    string
	Loc     string // repository, archive URL or path, or the plugin name
	Subdir  string // git: the plugin's directory inside the repository
	Version string // git: tag, commit or range; index: version or range
}

var pluginName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ParseSource reads a source argument; relative local paths are made
// absolute against the working directory.
func ParseSource(arg string) (Source, error) {
	s := Source{}
	spec := strings.TrimSpace(arg)
	if i := strings.LastIndex(spec, "@"); i > 0 && !strings.ContainsAny(spec[i+1:], "/:") {
		spec, s.Version = spec[:i], spec[i+1:]
		if s.Version == "" {
			return s, fmt.Errorf("%q: empty version after @", arg)
		}
	}
	switch {
	case spec == "":
		return s, fmt.Errorf("empty source")
	case strings.HasPrefix(spec, "git+"):
		s.Kind, spec = KindGit, strings.TrimPrefix(spec, "git+")
	case strings.HasSuffix(spec, ".tar.gz") || strings.HasSuffix(spec, ".tgz"):
		s.Kind = KindArchive
	case pluginName.MatchString(spec) && !exists(spec):
		s.Kind, s.Loc = KindIndex, spec
		return s, nil
	default:
		s.Kind = KindGit
	}
	if s.Kind == KindGit {
		spec, s.Subdir, _ = strings.Cut(spec, "#")
		if s.Subdir != "" {
			if _, err := cleanSubdir(s.Subdir); err != nil {
				return s, err
			}
		}
	}
	if strings.HasPrefix(spec, "-") {
		return s, fmt.Errorf("%q: a source may not start with -", arg)
	}
	if !isURL(spec) && !strings.Contains(spec, "://") && !strings.Contains(spec, "@") {
		abs, err := filepath.Abs(spec)
		if err != nil {
			return s, err
		}
		spec = abs
	}
	s.Loc = spec
	return s, nil
}

// String is the source as plugins.lock records it.
func (s Source) String() string {
	switch s.Kind {
	case KindGit:
		out := "git+" + s.Loc
		if s.Subdir != "" {
			out += "#" + s.Subdir
		}
		return out
	case KindIndex:
		return KindIndex
	}
	return s.Loc
}

// parseLockedSource reads a lock entry's source back.
func parseLockedSource(name, src string) (Source, error) {
	if src == KindIndex {
		return Source{Kind: KindIndex, Loc: name}, nil
	}
	if strings.HasPrefix(src, "git+") {
		loc, sub, _ := strings.Cut(strings.TrimPrefix(src, "git+"), "#")
		return Source{Kind: KindGit, Loc: loc, Subdir: sub}, nil
	}
	return Source{Kind: KindArchive, Loc: src}, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func cleanSubdir(sub string) (string, error) {
	c := filepath.ToSlash(filepath.Clean(sub))
	if strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("sub-directory %q must stay inside the repository", sub)
	}
	return c, nil
}

// git runs the system git with prompts off and only the transports the
// configuration allows (no ext::, no plain git:// or http:// by default).
func (m *Manager) git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	allow := "file:https:ssh"
	if m.cfg.AllowHTTP {
		allow += ":http:git"
	}
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ALLOW_PROTOCOL="+allow, "GIT_CONFIG_NOSYSTEM=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// gitTags lists a repository's semver tags (v1.2.3 or 1.2.3) by version.
func (m *Manager) gitTags(ctx context.Context, loc string) (map[string]*semver.Version, error) {
	out, err := m.git(ctx, "", "ls-remote", "--tags", "--refs", "--", loc)
	if err != nil {
		return nil, err
	}
	tags := map[string]*semver.Version{}
	for _, line := range strings.Split(string(out), "\n") {
		_, ref, ok := strings.Cut(line, "\trefs/tags/")
		if !ok {
			continue
		}
		if v, err := semver.StrictNewVersion(strings.TrimPrefix(ref, "v")); err == nil {
			tags[ref] = v
		}
	}
	return tags, nil
}

// newestTag picks the newest tag whose version satisfies c (any when nil).
func newestTag(tags map[string]*semver.Version, c *semver.Constraints) (string, *semver.Version) {
	names := make([]string, 0, len(tags))
	for t := range tags {
		names = append(names, t)
	}
	sort.Strings(names)
	var best string
	var bv *semver.Version
	for _, t := range names {
		v := tags[t]
		if (c == nil || c.Check(v)) && (bv == nil || v.GreaterThan(bv)) {
			best, bv = t, v
		}
	}
	return best, bv
}

// fetchGit clones the repository (bare), resolves the version to a commit
// and unpacks the plugin's directory at that commit into out through the
// same checks as an archive (git archive). It returns the commit.
func (m *Manager) fetchGit(ctx context.Context, s Source, work, out string) (string, error) {
	if err := m.cfg.checkScheme(s.Loc); err != nil {
		return "", err
	}
	repo := filepath.Join(work, "repo.git")
	if _, err := m.git(ctx, "", "clone", "--bare", "--quiet", "--", s.Loc, repo); err != nil {
		return "", fmt.Errorf("%s: %w", s.Loc, err)
	}
	ref, err := m.pickRef(ctx, repo, s)
	if err != nil {
		return "", err
	}
	sha, err := m.git(ctx, repo, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%s: no tag or commit %q", s.Loc, ref)
	}
	commit := strings.TrimSpace(string(sha))
	tree := commit
	if s.Subdir != "" {
		sub, _ := cleanSubdir(s.Subdir)
		tree += ":" + sub
	}
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", tree)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	xerr := archive.Extract(pipe, false, out, m.cfg.limits())
	if xerr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if xerr != nil {
		return "", fmt.Errorf("%s@%s: %w", s.Loc, ref, xerr)
	}
	if werr != nil {
		return "", fmt.Errorf("%s@%s: git archive: %v: %s", s.Loc, ref, werr, strings.TrimSpace(stderr.String()))
	}
	return commit, nil
}

// pickRef turns a source's version into a git revision: a tag or commit
// as named (1.2.0 also finds the tag v1.2.0), or the newest semver tag
// within a range; no version is the newest tag, or HEAD without tags.
func (m *Manager) pickRef(ctx context.Context, repo string, s Source) (string, error) {
	v := s.Version
	switch {
	case v != "" && m.isRev(ctx, repo, v):
		return v, nil
	case v != "" && m.isRev(ctx, repo, "v"+v):
		return "v" + v, nil
	}
	var c *semver.Constraints
	if v != "" {
		var err error
		if c, err = semver.NewConstraint(v); err != nil {
			return "", fmt.Errorf("%s: no tag or commit %q", s.Loc, v)
		}
	}
	tags, err := m.gitTags(ctx, repo)
	if err != nil {
		return "", err
	}
	if tag, _ := newestTag(tags, c); tag != "" {
		return tag, nil
	}
	if v == "" {
		return "HEAD", nil
	}
	return "", fmt.Errorf("%s: no tag satisfies %q", s.Loc, v)
}

func (m *Manager) isRev(ctx context.Context, repo, ref string) bool {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return false
	}
	_, err := m.git(ctx, repo, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return err == nil
}

var manifestName = regexp.MustCompile(`(?m)(?:^|[{,;])\s*name\s*=\s*["']([a-z][a-z0-9_]{0,63})["']`)

// guessName names a plugin unpacked from a repository: the manifest's
// name = "..." line when init.lua has exactly one, else the sub-directory's
// or repository's name. The engine then checks the manifest's name against
// the directory, so a wrong guess is an error, never a misnamed plugin.
func guessName(dir string, s Source) string {
	if code, err := os.ReadFile(filepath.Join(dir, "init.lua")); err == nil {
		found := map[string]bool{}
		for _, m := range manifestName.FindAllSubmatch(code, -1) {
			found[string(m[1])] = true
		}
		if len(found) == 1 {
			for n := range found {
				return n
			}
		}
	}
	base := s.Loc
	if s.Subdir != "" {
		base = s.Subdir
	}
	base = strings.TrimSuffix(strings.TrimRight(filepath.ToSlash(base), "/"), ".git")
	base = base[strings.LastIndexAny(base, "/:")+1:]
	return strings.TrimPrefix(strings.ReplaceAll(base, "-", "_"), "vbwd_plugin_")
}
