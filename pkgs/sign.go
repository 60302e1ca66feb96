package pkgs

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Archives are signed with Ed25519 over their bytes; the signature travels
// base64-encoded in the index entry ("signature") or, for an archive fetched
// by URL or path, in a file next to it named <archive>.sig.

// ErrUnsigned is returned when trusted keys are configured and an archive
// carries no signature.
var ErrUnsigned = errors.New("the archive is not signed, and config.json vbwd.packages.trusted_keys requires a signature")

// checkSignature verifies sig (base64) over data against the trusted keys;
// with no keys configured every archive is accepted (its sha256 still is
// checked against the index or lock).
func (c *Config) checkSignature(data []byte, sig string) error {
	if len(c.keys) == 0 {
		return nil
	}
	if strings.TrimSpace(sig) == "" {
		return ErrUnsigned
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(b) != ed25519.SignatureSize {
		return errors.New("the archive's signature is not a base64 Ed25519 signature")
	}
	for _, k := range c.keys {
		if ed25519.Verify(k, data, b) {
			return nil
		}
	}
	return errors.New("the archive's signature does not verify against any trusted key (tampered, or signed by an untrusted key)")
}

// Sign signs data with a private key; it returns the base64 signature.
func Sign(key ed25519.PrivateKey, data []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, data))
}

// GenerateKey makes a key pair: the private key as base64 (for
// `vbwd plugin pack --sign-key`) and the public key as base64 (for
// trusted_keys).
func GenerateKey() (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub), nil
}

// ReadPrivateKey reads a base64 Ed25519 seed (32 bytes) or private key
// (64 bytes) from a file.
func ReadPrivateKey(file string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: not base64: %v", file, err)
	case len(b) == ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case len(b) == ed25519.PrivateKeySize:
		return ed25519.PrivateKey(b), nil
	}
	return nil, fmt.Errorf("%s: not an Ed25519 private key (want 32 or 64 bytes, got %d)", file, len(b))
}
