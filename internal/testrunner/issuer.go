package testrunner

import (
	"crypto/ed25519"
	"crypto/rand"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
	vauth "github.com/vbwd-platform/vbwd-engine/stdlib/auth"
)

// newTestIssuer is the engine issuer of one test file: a fresh Ed25519 key,
// never written under the root's .data/.
func newTestIssuer() *auth.Issuer {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return auth.NewIssuer(auth.DefaultIssuer, "", key)
}

// authModule is vbwd.auth for the test file, on the test clock.
// TODO(phase 2): the engine offers vbwd.auth itself; pass the key instead.
func (h *harness) authModule(p hostapi.Plugin) hostapi.Module {
	return vauth.New(h.issuer, p.Name, h.now)
}
