package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultIssuer is the iss of the engine's own tokens when root config.json
// sets no vbwd.auth.issuer. Ops should set the engine's public base URL.
const DefaultIssuer = "vbwd"

// KeyFileName is where the engine keeps its Ed25519 signing key, under the
// root's .data/ directory, unless ops give one.
const KeyFileName = "issuer-ed25519.pem"

// Issuer is the engine as a token issuer: it signs EdDSA (Ed25519) tokens
// with its own key, which it publishes as a JWK Set, and accepts them back.
type Issuer struct {
	URL      string // the iss claim
	Audience string // the aud claim, when set
	key      ed25519.PrivateKey
	kid      string
}

// NewIssuer returns an issuer signing with key as url.
func NewIssuer(url, audience string, key ed25519.PrivateKey) *Issuer {
	if url == "" {
		url = DefaultIssuer
	}
	return &Issuer{URL: url, Audience: audience, key: key, kid: thumbprint(key.Public().(ed25519.PublicKey))}
}

// KeyID is the kid of the issuer's key: its RFC 7638 JWK thumbprint.
func (i *Issuer) KeyID() string { return i.kid }

// PublicKey is the key tokens are verified with.
func (i *Issuer) PublicKey() ed25519.PublicKey { return i.key.Public().(ed25519.PublicKey) }

// Claims are what a token issued by the engine says.
type Claims struct {
	Subject string
	Roles   []string
	TTL     time.Duration
	Plugin  string         // the plugin that asked for the token (claim vbwd_plugin)
	Extra   map[string]any // more claims; the registered ones are refused
}

// reservedClaims may not be set through Claims.Extra.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"roles": true, "vbwd_plugin": true,
}

// MaxTTL bounds the lifetime of an issued token.
const MaxTTL = 30 * 24 * time.Hour

// Issue signs a token for c at now, with a random jti.
func (i *Issuer) Issue(c Claims, now time.Time) (string, error) {
	if c.Subject == "" {
		return "", errors.New("issue: sub is required")
	}
	if c.TTL <= 0 || c.TTL > MaxTTL {
		return "", fmt.Errorf("issue: ttl must be between 1 s and %s", MaxTTL)
	}
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := jwt.MapClaims{}
	for k, v := range c.Extra {
		if reservedClaims[k] {
			return "", fmt.Errorf("issue: claim %q is set by the engine", k)
		}
		claims[k] = v
	}
	claims["iss"], claims["sub"], claims["roles"] = i.URL, c.Subject, roles
	claims["iat"], claims["nbf"], claims["exp"] = now.Unix(), now.Unix(), now.Add(c.TTL).Unix()
	claims["jti"] = base64.RawURLEncoding.EncodeToString(jti)
	if c.Plugin != "" {
		claims["vbwd_plugin"] = c.Plugin
	}
	if i.Audience != "" {
		claims["aud"] = i.Audience
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = i.kid
	return tok.SignedString(i.key)
}

// JWKS is the issuer's public key as a JWK Set, served at
// /.well-known/jwks.json.
func (i *Issuer) JWKS() []byte {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(i.PublicKey()),
		"kid": i.kid, "alg": "EdDSA", "use": "sig",
	}}})
	return b
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of an Ed25519 public key
// (members in lexicographic order, no whitespace), base64url.
func thumbprint(pub ed25519.PublicKey) string {
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ParseKeyPEM reads an Ed25519 private key from PEM ("PRIVATE KEY",
// PKCS #8), as `openssl genpkey -algorithm ed25519` writes it.
func ParseKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("issuer key: no PEM \"PRIVATE KEY\" block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("issuer key: a %T, not an Ed25519 key", k)
	}
	return ek, nil
}

// LoadOrCreateKey reads the Ed25519 key in file, or generates one and
// writes it there (mode 0600, created exclusively: when two engines on one
// root race, the loser reads the winner's key). created tells which.
func LoadOrCreateKey(file string) (key ed25519.PrivateKey, created bool, err error) {
	data, err := os.ReadFile(file)
	if err == nil {
		key, err = ParseKeyPEM(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", file, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, false, err
	}
	_, key, _ = ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, err
	}
	// write beside and link into place: a reader never sees half a key
	tmp, err := os.CreateTemp(filepath.Dir(file), ".issuer-key-*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(tmp.Name(), file); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(file) // another engine made it first
	} else if err != nil {
		return nil, false, err
	}
	return key, true, nil
}
