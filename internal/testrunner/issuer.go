package testrunner

import (
	"crypto/ed25519"
	"crypto/rand"
)

// newIssuerKey is the engine's signing key for one test file (vbwd.auth):
// fresh, never written under the root's .data/.
func newIssuerKey() ed25519.PrivateKey {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return key
}
