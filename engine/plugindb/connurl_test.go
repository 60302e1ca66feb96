package plugindb

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lib/pq"
)

// caFile writes a self-signed CA certificate (pgx loads sslrootcert when it
// parses a connection string).
func caFile(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vbwd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "root ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// The migration connection keeps every TLS and connection setting of the
// engine's connection string, URL or key=value, IPv6 hosts included — as
// lib/pq (under dbmate) reads it.
func TestMigrationURL_KeepsEveryParameter(t *testing.T) {
	ca := caFile(t)
	for _, conn := range []string{
		"postgres://app:p%40ss@[2001:db8::7]:5433/shop?sslmode=verify-full&sslrootcert=" + strings.ReplaceAll(url.QueryEscape(ca), "+", "%20") +
			"&application_name=vbwd-x&connect_timeout=7&pool_max_conns=3",
		"host=2001:db8::7 port=5433 user=app password='p@ss' dbname=shop sslmode=verify-full sslrootcert='" + ca +
			"' application_name=vbwd-x connect_timeout=7 pool_max_conns=3",
	} {
		cfg, err := pgxpool.ParseConfig(conn)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg) // connects lazily: nothing listens there
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		m, err := NewMigrator(pool, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		pc, err := pq.NewConfig(m.url.String())
		if err != nil {
			t.Fatalf("%s: lib/pq cannot read the migration URL %s: %v", conn, m.url, err)
		}
		if pc.Host != "2001:db8::7" || pc.Port != 5433 || pc.User != "app" || pc.Password != "p@ss" || pc.Database != "shop" ||
			pc.SSLMode != pq.SSLModeVerifyFull || pc.SSLRootCert != ca || pc.ApplicationName != "vbwd-x" || pc.ConnectTimeout != 7*time.Second {
			t.Errorf("%s\n  became %s\n  read as host=%q port=%d user=%q db=%q sslmode=%q sslrootcert=%q app=%q timeout=%v",
				conn, m.url, pc.Host, pc.Port, pc.User, pc.Database, pc.SSLMode, pc.SSLRootCert, pc.ApplicationName, pc.ConnectTimeout)
		}
		if len(pc.Runtime) != 0 || strings.Contains(m.url.String(), "pool_") {
			t.Errorf("%s: pgx-only settings reach the server as runtime parameters: %v", conn, pc.Runtime)
		}
	}
}

// Every engine sharing a secret derives the same password for a role, and
// a different one for each role; without a secret roles have none (trust).
func TestRolePassword(t *testing.T) {
	a, b := rolePassword("s3cret", "vbwd_plugin_a"), rolePassword("s3cret", "vbwd_plugin_a")
	if a != b || len(a) != 64 || a == rolePassword("s3cret", "vbwd_plugin_b") || a == rolePassword("other", "vbwd_plugin_a") {
		t.Errorf("passwords: %q %q", a, b)
	}
	if rolePassword("", "vbwd_plugin_a") != "" {
		t.Error("a password without a secret")
	}
}

func TestKeywordParams(t *testing.T) {
	got, err := keywordParams(`host=db.internal  port = 5433 password='it\'s \\ ok' options='-c x=1' sslmode=verify-full`)
	if err != nil {
		t.Fatal(err)
	}
	if got["host"] != "db.internal" || got["port"] != "5433" || got["password"] != `it's \ ok` || got["options"] != "-c x=1" ||
		got["sslmode"] != "verify-full" {
		t.Errorf("%#v", got)
	}
	for _, bad := range []string{"host", "host='x"} {
		if _, err := keywordParams(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
