package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

func TestTokenCommand(t *testing.T) {
	t.Setenv("VBWD_JWT_SECRET", "cli-secret")
	out, err := runCLI(t, context.Background(), "token", "--sub", "u42", "--roles", "admin, subscriber", "--ttl", "1h")
	if err != nil {
		t.Fatal(err)
	}
	u, err := auth.NewVerifier("cli-secret").Verify(strings.TrimSpace(out))
	if err != nil || u.ID != "u42" || strings.Join(u.Roles, ",") != "admin,subscriber" {
		t.Errorf("minted token: %+v %v", u, err)
	}
	t.Setenv("VBWD_JWT_SECRET", "")
	if _, err := runCLI(t, context.Background(), "token", "--sub", "u"); err == nil || !strings.Contains(err.Error(), "VBWD_JWT_SECRET") {
		t.Errorf("without a secret: %v", err)
	}
}
