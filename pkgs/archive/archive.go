// Package archive packs and unpacks plugin archives (.tar.gz holding one
// plugin directory) and hashes plugin directories the way the engine does.
// It imports nothing of the engine, so the engine can use it to unpack the
// archives a cluster shares.
package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Limits bound what one archive may unpack to.
type Limits struct {
	MaxBytes int64 // total size of the files unpacked
	MaxFiles int   // number of entries
}

// DefaultLimits: a plugin is Lua code and a few assets.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxFiles: 5000}

// OrDefault fills zero limits from DefaultLimits.
func (l Limits) OrDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	return l
}

// Extract unpacks the tar stream r (gzip-compressed when gz) into dst, which
// must exist and be empty. It refuses, before writing anything outside dst
// could happen, entries whose path is absolute or climbs with "..", links of
// any kind (a plugin needs none, and a link is how an archive escapes), and
// archives over the limits.
func Extract(r io.Reader, gz bool, dst string, lim Limits) error {
	lim = lim.OrDefault()
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("not a gzip archive: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	var total int64
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bad tar archive: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader { // git archive writes one
			continue
		}
		if files++; files > lim.MaxFiles {
			return fmt.Errorf("archive holds more than %d entries", lim.MaxFiles)
		}
		rel, err := cleanEntry(h.Name)
		if err != nil {
			return err
		}
		if rel == "" {
			continue // "./"
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if total += h.Size; h.Size < 0 || total > lim.MaxBytes {
				return fmt.Errorf("archive unpacks to more than %d bytes", lim.MaxBytes)
			}
			if err := writeFile(target, tr, h.Size); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		case tar.TypeSymlink, tar.TypeLink:
			return fmt.Errorf("%s: links are not allowed in a plugin archive (-> %s)", rel, h.Linkname)
		default:
			return fmt.Errorf("%s: entry type %q is not allowed in a plugin archive", rel, string(h.Typeflag))
		}
	}
}

// cleanEntry checks one entry name and returns it slash-separated and
// relative, "" for the archive's root itself.
func cleanEntry(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) || strings.Contains(name, `\`) {
		return "", fmt.Errorf("bad entry name %q", name)
	}
	if strings.HasPrefix(name, "/") || filepath.IsAbs(name) {
		return "", fmt.Errorf("%s: absolute paths are not allowed in a plugin archive", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", fmt.Errorf("%s: paths climbing out with .. are not allowed in a plugin archive", name)
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	if c == ".." || strings.HasPrefix(c, "../") { // cannot happen after the check above; kept as the last word
		return "", fmt.Errorf("%s: paths climbing out with .. are not allowed in a plugin archive", name)
	}
	return c, nil
}

// writeFile writes exactly size bytes from r; parent directories are made
// (a tar need not list them). O_EXCL: an entry listed twice is refused.
func writeFile(target string, r io.Reader, size int64) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// TopDir returns the one directory an unpacked archive holds: archives hold
// one plugin directory named after the plugin.
func TopDir(dst string) (string, error) {
	ents, err := os.ReadDir(dst)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(ents) != 1 || !ents[0].IsDir() {
		return "", fmt.Errorf("a plugin archive must hold exactly one directory (the plugin), found %v", names)
	}
	return ents[0].Name(), nil
}

// Pack writes dir as a gzip-compressed tar holding one directory named
// name. It packs what the engine loads and hashes: regular files, hidden
// entries skipped. The output is reproducible: sorted, no times or owners.
func Pack(w io.Writer, dir, name string) error {
	paths, err := listFiles(dir)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	addDir := func(rel string) error {
		if dirs[rel] {
			return nil
		}
		dirs[rel] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, Format: tar.FormatPAX})
	}
	if err := addDir(name); err != nil {
		return err
	}
	for _, rel := range paths {
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			if err := addDir(path.Join(name, path.Join(parts[:i]...))); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: path.Join(name, rel), Mode: 0o644, Size: int64(len(data)), Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// PackBytes is Pack into memory.
func PackBytes(dir, name string) ([]byte, error) {
	var buf bytes.Buffer
	err := Pack(&buf, dir, name)
	return buf.Bytes(), err
}

// listFiles lists the regular files under dir that the engine reads, by
// slash-separated relative path, sorted as the engine sorts them.
func listFiles(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths) // full paths, as the engine sorts them
	out := make([]string, len(paths))
	for i, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		out[i] = filepath.ToSlash(rel)
	}
	return out, nil
}

// DirHash is the content hash the engine reports for a plugin directory
// (PluginStatus.Hash, /admin/plugins/{name} "hash"): sha256 over every
// regular file's relative path, length and bytes in sorted order, hidden
// entries skipped. It must stay identical to the engine's snapshotDir
// (engine/source.go); TestDirHashIsTheEngines pins that.
func DirHash(dir string) (string, error) {
	paths, err := listFiles(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, rel := range paths {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SHA256 is the hex sha256 of b: the archive hash indexes, lock files and
// the cluster's archive store use.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
