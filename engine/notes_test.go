package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestNotesPlugin drives the shipped notes plugin over HTTP against a real
// database: migration on enable, CRUD, 404/409/422, populate idempotence.
func TestNotesPlugin(t *testing.T) {
	pool, _ := newDB(t)
	te := startEngine(t, shippedRoot(t), func(o *Options) { o.DB = pool })
	if st := te.status(t, "notes"); st.State != StateEnabled {
		t.Fatalf("notes: %s %s", st.State, st.Error)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		ran, err := te.Populate(ctx, "notes")
		if err != nil || len(ran) != 1 {
			t.Fatalf("populate #%d: %v %v", i+1, ran, err)
		}
	}
	if n := countRows(t, te, "select count(*) from notes.notes_notes"); n != 3 {
		t.Fatalf("after populating twice: %d notes, want 3", n)
	}
	if n := countRows(t, te, "select count(*) from notes.notes_notes where updated_at <> created_at"); n != 0 {
		t.Errorf("populate changed %d existing notes", n)
	}

	r := te.do(t, "GET", "/api/v1/notes/?tag=howto", "")
	if r.status != 200 || len(r.json["notes"].([]any)) != 2 {
		t.Fatalf("list by tag: %d %s", r.status, r.body)
	}
	r = te.do(t, "POST", "/api/v1/notes/", `{"slug": "shopping", "title": "Shopping", "tags": ["home"], "body": "milk"}`)
	if r.status != 201 || r.json["slug"] != "shopping" || r.header.Get("Location") == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json["id"].(string)
	if tags := fmt.Sprint(r.json["tags"]); tags != "[home]" || r.json["pinned"] != false || !strings.Contains(r.json["created_at"].(string), "T") {
		t.Errorf("created note: %s", r.body)
	}
	if r := te.do(t, "POST", "/api/v1/notes/", `{"slug": "shopping", "title": "Again"}`); r.status != 409 {
		t.Errorf("duplicate slug: %d %s", r.status, r.body)
	}
	if r := te.do(t, "POST", "/api/v1/notes/", `{"slug": "Bad Slug", "title": "x"}`); r.status != 422 || r.json["field"] != "slug" {
		t.Errorf("bad slug: %d %s", r.status, r.body)
	}
	r = te.do(t, "PUT", "/api/v1/notes/"+id, `{"title": "Groceries", "pinned": true}`)
	if r.status != 200 || r.json["title"] != "Groceries" || r.json["pinned"] != true || r.json["body"] != "milk" {
		t.Errorf("update: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/v1/notes/"+id, ""); r.status != 200 || r.json["title"] != "Groceries" {
		t.Errorf("get: %d %s", r.status, r.body)
	}
	if r := te.do(t, "DELETE", "/api/v1/notes/"+id, ""); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/api/v1/notes/" + id, "/api/v1/notes/not-a-uuid"} {
		if r := te.do(t, "GET", p, ""); r.status != 404 {
			t.Errorf("GET %s after delete: %d", p, r.status)
		}
	}
	if r := te.do(t, "GET", "/api/v1/notes/?limit=0", ""); r.status != 422 {
		t.Errorf("limit=0: %d", r.status)
	}
}
