package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tarGz(entries ...tar.Header) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		body := h.Linkname // regular files: the body travels in Linkname here
		if h.Typeflag == tar.TypeReg {
			h.Size, h.Linkname = int64(len(body)), ""
		}
		_ = tw.WriteHeader(&h)
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(body))
		}
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// FuzzExtract: whatever the archive, nothing is written outside the
// destination and no link is made.
func FuzzExtract(f *testing.F) {
	f.Add(tarGz(tar.Header{Name: "p/init.lua", Typeflag: tar.TypeReg, Linkname: "return {}"}))
	f.Add(tarGz(tar.Header{Name: "p/../../x", Typeflag: tar.TypeReg, Linkname: "x"}))
	f.Add(tarGz(tar.Header{Name: "p/l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, tar.Header{Name: "p/l/x", Typeflag: tar.TypeReg, Linkname: "x"}))
	f.Add(tarGz(tar.Header{Name: "/abs", Typeflag: tar.TypeReg, Linkname: "x"}))
	f.Add(tarGz(tar.Header{Name: "p/./a/../b", Typeflag: tar.TypeReg, Linkname: "x"}, tar.Header{Name: "p/b", Typeflag: tar.TypeReg, Linkname: "y"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = Extract(bytes.NewReader(data), true, dst, Limits{MaxBytes: 1 << 20, MaxFiles: 100})
		err := filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != parent && p != dst && !strings.HasPrefix(p, dst+string(filepath.Separator)) {
				t.Errorf("written outside the destination: %s", p)
			}
			if d.Type()&os.ModeSymlink != 0 {
				t.Errorf("a link was made: %s", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestCleanEntry(t *testing.T) {
	for _, bad := range []string{"../x", "a/../../x", "/x", `a\..\x`, "a/..", "", "a\x00b"} {
		if _, err := cleanEntry(bad); err == nil {
			t.Errorf("cleanEntry(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"./": "", "p/./a": "p/a", "p//a/": "p/a"} {
		if got, err := cleanEntry(in); err != nil || got != want {
			t.Errorf("cleanEntry(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
