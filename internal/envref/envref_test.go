package envref

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResolve(t *testing.T) {
	cfg := decode(t, `{"smtp": {"host": "mail", "password": {"$env": "SMTP_PASSWORD"}},
		"keys": [{"$env": "K1"}, "plain"], "n": 3}`)
	out, err := Resolve(cfg, env(map[string]string{"SMTP_PASSWORD": "hunter2", "K1": ""}))
	if err != nil {
		t.Fatal(err)
	}
	pw, ok := out["smtp"].(map[string]any)["password"].(Secret)
	if !ok || pw.Reveal() != "hunter2" || pw.Env != "SMTP_PASSWORD" {
		t.Fatalf("password: %#v", out["smtp"])
	}
	if k := out["keys"].([]any)[0].(Secret); k.Reveal() != "" {
		t.Errorf("an empty variable is a value: %q", k.Reveal())
	}
	// the value never leaves through JSON, fmt or slog
	b, _ := json.Marshal(out)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", out, "pw", pw)
	for _, s := range []string{string(b), fmt.Sprint(out), fmt.Sprintf("%#v %+v", out, out), logged.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("the secret leaks: %s", s)
		}
	}
	if !strings.Contains(string(b), `"password":{"$env":"SMTP_PASSWORD"}`) {
		t.Errorf("JSON does not show the reference: %s", b)
	}
	if p := Plain(out); p["smtp"].(map[string]any)["password"] != "hunter2" || p["n"] != cfg["n"] {
		t.Errorf("Plain: %v", p)
	}
	if cfg["smtp"].(map[string]any)["password"].(map[string]any)["$env"] != "SMTP_PASSWORD" {
		t.Error("Resolve changed its input")
	}
}

func TestResolve_Errors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{`{"smtp": {"password": {"$env": "MISSING_VAR"}}}`, "config key /smtp/password: environment variable MISSING_VAR is not set"},
		{`{"a": [1, {"$env": "MISSING_VAR"}]}`, "config key /a/1: environment variable MISSING_VAR is not set"},
		{`{"a": {"$env": "X", "other": 1}}`, "config key /a: " + `a {"$env": "NAME"} reference must have no other keys`},
		{`{"a": {"$env": "no-dash"}}`, "must name an environment variable"},
		{`{"a": {"$env": 3}}`, "must name an environment variable"},
	} {
		_, err := Resolve(decode(t, tc.cfg), env(map[string]string{"X": "x"}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestRefuse(t *testing.T) {
	if err := Refuse(decode(t, `{"a": {"b": [{"$env": "DATABASE_URL"}]}}`)); err == nil || !strings.Contains(err.Error(), "config key /a/b/0") || !strings.Contains(err.Error(), "root config.json") {
		t.Errorf("Refuse: %v", err)
	}
	if err := Refuse(decode(t, `{"a": {"env": "x"}}`)); err != nil {
		t.Errorf("no reference: %v", err)
	}
}
