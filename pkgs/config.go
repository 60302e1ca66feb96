package pkgs

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vbwd-platform/vbwd-engine/pkgs/archive"
)

// Config is the root config.json's "vbwd": {"packages": {...}} entry:
//
//	"indexes":      index.json URLs or paths (relative to the root), searched in order
//	"trusted_keys": base64 Ed25519 public keys; when set, archives must carry a
//	                signature by one of them
//	"allow_http":   accept plain http:// (and git://) sources and indexes
//	"max_archive_mb", "max_files": limits on one plugin
type Config struct {
	Indexes      []string `json:"indexes"`
	TrustedKeys  []string `json:"trusted_keys"`
	AllowHTTP    bool     `json:"allow_http"`
	MaxArchiveMB int64    `json:"max_archive_mb"`
	MaxFiles     int      `json:"max_files"`

	keys []ed25519.PublicKey
}

// ReadConfig reads the packages configuration from <root>/config.json; a
// missing file or entry is the empty configuration.
func ReadConfig(root string) (*Config, error) {
	var raw struct {
		VBWD struct {
			Packages *Config `json:"packages"`
		} `json:"vbwd"`
	}
	data, err := os.ReadFile(filepath.Join(root, "config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	c := raw.VBWD.Packages
	if c == nil {
		c = &Config{}
	}
	if err := c.init(root); err != nil {
		return nil, fmt.Errorf("config.json: vbwd.packages: %w", err)
	}
	return c, nil
}

// init decodes the keys and makes relative index paths root-relative.
func (c *Config) init(root string) error {
	c.keys = nil
	for i, k := range c.TrustedKeys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return fmt.Errorf("trusted_keys[%d] is not a base64 Ed25519 public key (32 bytes)", i)
		}
		c.keys = append(c.keys, ed25519.PublicKey(b))
	}
	for i, ix := range c.Indexes {
		if !isURL(ix) && !filepath.IsAbs(ix) {
			c.Indexes[i] = filepath.Join(root, ix)
		}
	}
	if c.MaxArchiveMB < 0 || c.MaxFiles < 0 {
		return errors.New("max_archive_mb and max_files must be positive")
	}
	return nil
}

func (c *Config) limits() archive.Limits {
	return archive.Limits{MaxBytes: c.MaxArchiveMB << 20, MaxFiles: c.MaxFiles}
}

// maxDownload bounds one compressed archive as read from a source.
func (c *Config) maxDownload() int64 {
	return c.limits().OrDefault().MaxBytes
}
