package pgdev

import (
	"os/exec"
	"testing"
)

// The postgres account can come from NSS (LDAP, sssd) through getent when
// the static binary's own lookup reads only /etc/passwd.
func TestParsePasswdLine(t *testing.T) {
	u, err := parsePasswdLine("postgres:x:105:109:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash")
	if err != nil || u.Username != "postgres" || u.Uid != "105" || u.Gid != "109" || u.HomeDir != "/var/lib/postgresql" {
		t.Fatalf("parsed %+v, %v", u, err)
	}
	for _, bad := range []string{"", "postgres:x:105", ":x:1:1:::"} {
		if _, err := parsePasswdLine(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := exec.LookPath("getent"); err != nil {
		t.Skip("no getent here")
	}
	u, err = getentUser("root")
	if err != nil || u.Uid != "0" {
		t.Fatalf("getent root: %+v, %v", u, err)
	}
}
