package reqschema

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustDoc(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const booking = `{"type": "object", "required": ["from", "room"], "additionalProperties": false,
	"properties": {"from": {"type": "string", "format": "date"}, "room": {"type": "integer", "minimum": 1},
	"note": {"type": "string", "maxLength": 5}}}`

func TestValidateBody(t *testing.T) {
	s, err := Compile(mustDoc(t, booking), t.TempDir(), "POST /bookings body")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body string
		want string // pointer=message fragments, ";"-joined
	}{
		{`{"from": "2026-11-26", "room": 3}`, ""},
		{`{"room": 3}`, "/from=is required"},
		{`{}`, "/from=is required;/room=is required"},
		{`{"from": "26.11.2026", "room": 0}`, "/from=date;/room=minimum"},
		{`{"from": "2026-11-26", "room": 1, "note": "too long"}`, "/note=maxLength"},
		{`{"from": "2026-11-26", "room": 1, "x": 1}`, "=additional"},
		{``, "=a JSON body is required"},
		{`{"from": `, "=not valid JSON"},
	} {
		fields := s.ValidateBody([]byte(tc.body))
		var got []string
		for _, f := range fields {
			if f.In != "body" {
				t.Errorf("%s: field in %q", tc.body, f.In)
			}
			got = append(got, f.Pointer+"="+f.Message)
		}
		wants := strings.Split(tc.want, ";")
		if tc.want == "" {
			wants = nil
		}
		if len(got) != len(wants) {
			t.Errorf("%s: fields %q, want %q", tc.body, got, wants)
			continue
		}
		for i, w := range wants {
			ptr, frag, _ := strings.Cut(w, "=")
			if gp, gm, _ := strings.Cut(got[i], "="); gp != ptr || !strings.Contains(gm, frag) {
				t.Errorf("%s: field %d = %q, want pointer %q with %q", tc.body, i, got[i], ptr, frag)
			}
		}
	}
}

func TestValidateQuery(t *testing.T) {
	doc := mustDoc(t, `{"type": "object", "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100},
		"active": {"type": "boolean"}, "tag": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
		"q": {"type": "string"}}, "required": ["q"]}`)
	s, err := Compile(doc, t.TempDir(), "GET /items query")
	if err != nil {
		t.Fatal(err)
	}
	if f := s.ValidateQuery(url.Values{"q": {"x"}, "limit": {"10"}, "active": {"true"}, "tag": {"a", "b"}}); f != nil {
		t.Errorf("valid query: %v", f)
	}
	f := s.ValidateQuery(url.Values{"limit": {"ten"}, "tag": {"a", "c"}})
	got := ""
	for _, x := range f {
		got += x.Pointer + " "
		if x.In != "query" {
			t.Errorf("in = %q", x.In)
		}
	}
	if got != "/limit /q /tag/1 " {
		t.Errorf("fields %v", f)
	}
	if f := s.ValidateQuery(url.Values{"q": {"x"}, "limit": {"0"}}); len(f) != 1 || !strings.Contains(f[0].Message, "minimum") {
		t.Errorf("limit=0: %v", f)
	}
}

func TestFilesAndRefs(t *testing.T) {
	dir := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "schemas", "date.json"), []byte(`{"type": "string", "format": "date"}`), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "schemas", "b.json"), []byte(`{"type": "object", "properties": {"from": {"$ref": "date.json"}}}`), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "secret.json"), []byte(`{"type": "string"}`), 0o644)
	doc, err := LoadFile(dir, "schemas/b.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(doc, dir, "POST /b body")
	if err != nil {
		t.Fatal(err)
	}
	if f := s.ValidateBody([]byte(`{"from": "nope"}`)); len(f) != 1 || f[0].Pointer != "/from" {
		t.Errorf("a $ref within schemas/: %v", f)
	}
	for _, bad := range []string{"secret.json", "schemas/../secret.json", "/etc/passwd", "schemas/missing.json"} {
		if _, err := LoadFile(dir, bad); err == nil {
			t.Errorf("LoadFile(%q) succeeded", bad)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "secret.json"), filepath.Join(dir, "schemas", "link.json")); err == nil {
		if _, err := LoadFile(dir, "schemas/link.json"); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("a symlink: %v", err)
		}
	}
	for _, ref := range []string{"../secret.json", "file:///etc/passwd", "https://example.com/s.json"} {
		_, err := Compile(map[string]any{"$ref": ref}, dir, "x")
		if err == nil {
			t.Errorf("$ref %s compiled", ref)
		}
	}
	if _, err := Compile(map[string]any{"type": "nonsense"}, dir, "x"); err == nil || !strings.Contains(err.Error(), "bad schema") {
		t.Errorf("a bad schema: %v", err)
	}
}
