package pkgs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

func isURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// checkScheme refuses plain http unless the configuration allows it.
func (c *Config) checkScheme(loc string) error {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "git://") {
		if !c.AllowHTTP {
			return fmt.Errorf("%s: plain-text sources are refused; use https, or set config.json vbwd.packages.allow_http", loc)
		}
	}
	return nil
}

// fetchBytes reads a URL or a local file, at most max bytes.
func (m *Manager) fetchBytes(ctx context.Context, loc string, max int64) ([]byte, error) {
	if !isURL(loc) {
		f, err := os.Open(strings.TrimPrefix(loc, "file://"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readCapped(f, max, loc)
	}
	if err := m.cfg.checkScheme(loc); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", loc, resp.Status)
	}
	return readCapped(resp.Body, max, loc)
}

func readCapped(r io.Reader, max int64, loc string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", loc, max)
	}
	return b, nil
}

// resolveRef resolves ref (an archive URL in an index) against the index's
// location: relative references are next to the index.json.
func resolveRef(base, ref string) (string, error) {
	if isURL(ref) || strings.HasPrefix(ref, "/") {
		return ref, nil
	}
	if isURL(base) {
		b, err := url.Parse(base)
		if err != nil {
			return "", err
		}
		r, err := url.Parse(ref)
		if err != nil {
			return "", err
		}
		return b.ResolveReference(r).String(), nil
	}
	return joinDir(base, ref), nil
}

// fetchArchive reads a .tar.gz, checks it against wantSHA (when known) and
// the trusted keys, and unpacks it into out. sig is the signature an index
// gave; nil reads <loc>.sig when keys are configured. It returns the one
// directory the archive holds and the archive's sha256.
func (m *Manager) fetchArchive(ctx context.Context, loc, wantSHA string, sig *string, out string) (name, sha string, err error) {
	m.logf("fetching %s", loc)
	data, err := m.fetchBytes(ctx, loc, m.cfg.maxDownload())
	if err != nil {
		return "", "", err
	}
	sha = archive.SHA256(data)
	if wantSHA != "" && !strings.EqualFold(sha, wantSHA) {
		return "", "", fmt.Errorf("%s: sha256 is %s, expected %s: the archive was altered (or the index is stale); refused", loc, sha, wantSHA)
	}
	s := ""
	if sig != nil {
		s = *sig
	} else if len(m.cfg.keys) > 0 {
		if b, err := m.fetchBytes(ctx, loc+".sig", 4096); err == nil {
			s = string(b)
		}
	}
	if err := m.cfg.checkSignature(data, s); err != nil {
		return "", "", fmt.Errorf("%s: %w", loc, err)
	}
	if err := archive.Extract(bytes.NewReader(data), true, out, m.cfg.limits()); err != nil {
		return "", "", fmt.Errorf("%s: %w", loc, err)
	}
	name, err = archive.TopDir(out)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", loc, err)
	}
	return name, sha, nil
}
