package engine

import (
	"os"
	"regexp"
	"testing"
)

// TestReadmeExample serves the ten-line plugin of README.md as written.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```lua\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no lua block")
	}
	te := startEngine(t, writeRoot(t, files{"plugins/greet/init.lua": string(m[1])}), nil)
	if r := te.do(t, "GET", "/api/v1/greet/Ada", ""); r.status != 200 || r.json["message"] != "Hi, Ada" {
		t.Errorf("README example: %d %s", r.status, r.body)
	}
	if r := te.do(t, "GET", "/api/v1/greet/"+"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ""); r.status != 422 {
		t.Errorf("README example, long name: %d %s", r.status, r.body)
	}
}
