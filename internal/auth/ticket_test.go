package auth

import (
	"errors"
	"testing"
	"time"
)

func TestTicket(t *testing.T) {
	v := NewVerifier("s3cret")
	now := time.Unix(1_800_000_000, 0)
	u := &User{ID: "alice", Roles: []string{"subscriber"}}
	path := "/api/v1/meinchat/rooms/lobby/events"
	tok, issued, err := v.MintTicket(u, path, 30*time.Second, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.VerifyTicket(tok, path, now.Add(10*time.Second))
	if err != nil || got.User.ID != "alice" || len(got.User.Roles) != 1 || got.ID != issued.ID || got.ID == "" {
		t.Fatalf("VerifyTicket: %+v %v", got, err)
	}
	for name, check := range map[string]func() error{
		"another path": func() error { _, err := v.VerifyTicket(tok, "/api/v1/meinchat/rooms/other/events", now); return err },
		"expired":      func() error { _, err := v.VerifyTicket(tok, path, now.Add(31*time.Second)); return err },
		"another secret": func() error {
			_, err := NewVerifier("other").VerifyTicket(tok, path, now)
			return err
		},
		"an API token is no ticket": func() error {
			api, _ := Mint("s3cret", "alice", nil, time.Hour, now)
			_, err := v.VerifyTicket(api, path, now)
			return err
		},
	} {
		if err := check(); !errors.Is(err, ErrInvalidTicket) {
			t.Errorf("%s: got %v, want ErrInvalidTicket", name, err)
		}
	}
	// A ticket is no API token either (the signing key differs).
	fresh, _, _ := v.MintTicket(u, path, 30*time.Second, time.Now())
	if _, err := v.Verify(fresh); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a ticket passed as an API token: %v", err)
	}
}
