package pkgs_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/pkgs"
	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

func TestTamperedArchiveRefused(t *testing.T) {
	reg := newRegistry(t, nil, "1.0.0")
	root := newRoot(t, map[string]any{"indexes": []string{reg.indexURL()}})
	before := tree(t, root)
	// the archive changes after the index recorded its sha256
	file := filepath.Join(reg.dir, "base-1.0.0.tar.gz")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 0xff
	write(t, file, string(b))
	_, err = manager(t, root, reg).Install(ctx, "base", pkgs.InstallOptions{})
	wantErr(t, err, "the archive was altered")
	if tree(t, root) != before {
		t.Fatal("a refused install changed the root")
	}
}

func TestSignatures(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	trusted := []string{base64.StdEncoding.EncodeToString(pub)}

	signed := newRegistry(t, priv, "1.0.0")
	root := newRoot(t, map[string]any{"indexes": []string{signed.indexURL()}, "trusted_keys": trusted})
	if _, err := manager(t, root, signed).Install(ctx, "base", pkgs.InstallOptions{}); err != nil {
		t.Fatalf("a correctly signed archive: %v", err)
	}

	unsigned := newRegistry(t, nil, "1.0.0")
	root = newRoot(t, map[string]any{"indexes": []string{unsigned.indexURL()}, "trusted_keys": trusted})
	_, err := manager(t, root, unsigned).Install(ctx, "base", pkgs.InstallOptions{})
	wantErr(t, err, "the archive is not signed")

	wrong := newRegistry(t, other, "1.0.0")
	root = newRoot(t, map[string]any{"indexes": []string{wrong.indexURL()}, "trusted_keys": trusted})
	_, err = manager(t, root, wrong).Install(ctx, "base", pkgs.InstallOptions{})
	wantErr(t, err, "does not verify against any trusted key")

	// by URL: the signature is read from <archive>.sig; a re-signed archive
	// whose .sig was not made by a trusted key is refused
	root = newRoot(t, map[string]any{"trusted_keys": trusted})
	_, err = manager(t, root, wrong).Install(ctx, wrong.srv.URL+"/base-1.0.0.tar.gz", pkgs.InstallOptions{})
	wantErr(t, err, "does not verify against any trusted key")
	if _, err = manager(t, root, signed).Install(ctx, signed.srv.URL+"/base-1.0.0.tar.gz", pkgs.InstallOptions{}); err != nil {
		t.Fatalf("a signed archive by URL: %v", err)
	}
}

type entry struct {
	name, link string
	typ        byte
	body       string
}

func tarGz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestPathEscapingArchiveRefused(t *testing.T) {
	good := entry{name: "base/init.lua", typ: tar.TypeReg, body: initLua("base", "1.0.0")}
	cases := map[string]struct {
		e    entry
		want string
	}{
		"dotdot":        {entry{name: "base/../../escaped.lua", typ: tar.TypeReg, body: "x"}, "climbing out with .."},
		"absolute":      {entry{name: "/tmp/escaped.lua", typ: tar.TypeReg, body: "x"}, "absolute paths"},
		"symlink out":   {entry{name: "base/etc", typ: tar.TypeSymlink, link: "/etc"}, "links are not allowed"},
		"symlink climb": {entry{name: "base/up", typ: tar.TypeSymlink, link: "../../.."}, "links are not allowed"},
		"hard link":     {entry{name: "base/pw", typ: tar.TypeLink, link: "/etc/passwd"}, "links are not allowed"},
		"device":        {entry{name: "base/dev", typ: tar.TypeChar}, "not allowed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			root := newRoot(t, nil)
			before := tree(t, root)
			file := filepath.Join(dir, "base-1.0.0.tar.gz")
			write(t, file, string(tarGz(t, good, tc.e)))
			_, err := manager(t, root, nil).Install(ctx, file, pkgs.InstallOptions{})
			wantErr(t, err, tc.want)
			if tree(t, root) != before {
				t.Fatal("a refused archive changed the root")
			}
			for _, p := range []string{filepath.Join(dir, "escaped.lua"), filepath.Join(root, "escaped.lua"), "/tmp/escaped.lua"} {
				if _, err := os.Stat(p); err == nil {
					t.Fatalf("%s was written", p)
				}
			}
		})
	}
}

func TestArchiveLimits(t *testing.T) {
	big := entry{name: "base/big.bin", typ: tar.TypeReg, body: string(make([]byte, 3<<20))}
	good := entry{name: "base/init.lua", typ: tar.TypeReg, body: initLua("base", "1.0.0")}
	file := filepath.Join(t.TempDir(), "base.tar.gz")
	write(t, file, string(tarGz(t, good, big)))
	root := newRoot(t, map[string]any{"max_archive_mb": 2})
	_, err := manager(t, root, nil).Install(ctx, file, pkgs.InstallOptions{})
	wantErr(t, err, "unpacks to more than 2097152 bytes")

	many := []entry{good}
	for i := 0; i < 20; i++ {
		many = append(many, entry{name: "base/f" + string(rune('a'+i)) + ".lua", typ: tar.TypeReg, body: "return 1"})
	}
	write(t, file, string(tarGz(t, many...)))
	root = newRoot(t, map[string]any{"max_files": 10})
	_, err = manager(t, root, nil).Install(ctx, file, pkgs.InstallOptions{})
	wantErr(t, err, "more than 10 entries")
}

func TestManifestNameMustMatchDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "base.tar.gz")
	write(t, file, string(tarGz(t, entry{name: "base/init.lua", typ: tar.TypeReg, body: initLua("other", "1.0.0")})))
	_, err := manager(t, newRoot(t, nil), nil).Install(ctx, file, pkgs.InstallOptions{})
	wantErr(t, err, `name "other" does not match the plugin directory "base"`)

	write(t, file, string(tarGz(t, good2("a"), good2("b"))))
	_, err = manager(t, newRoot(t, nil), nil).Install(ctx, file, pkgs.InstallOptions{})
	wantErr(t, err, "must hold exactly one directory")
}

func good2(name string) entry {
	return entry{name: name + "/init.lua", typ: tar.TypeReg, body: initLua(name, "1.0.0")}
}

// TestDirHashIsTheEngines pins archive.DirHash to the hash the engine
// reports, on a plugin with nested modules, hidden files and empty files.
func TestDirHashIsTheEngines(t *testing.T) {
	root := newRoot(t, nil)
	dir := filepath.Join(root, "plugins", "base")
	write(t, filepath.Join(dir, "init.lua"), initLua("base", "1.0.0"))
	write(t, filepath.Join(dir, "base", "a", "b.lua"), "return {}\n")
	write(t, filepath.Join(dir, "base-x", "z.txt"), "")
	write(t, filepath.Join(dir, ".hidden", "h.lua"), "ignored")
	write(t, filepath.Join(dir, "README.md"), "# base\n")
	h, err := archive.DirHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	if eng := installed(t, root)["base"].Hash; eng != h {
		t.Fatalf("DirHash %s, engine %s", h, eng)
	}
}
