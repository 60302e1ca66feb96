package strings

import (
	"testing"

	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
	vjson "github.com/vbwd-platform/vbwd-engine/stdlib/json"
)

func TestLua(t *testing.T) {
	luatest.Run(t, "testdata", New(), vjson.New())
}

func TestExports(t *testing.T) {
	luatest.CheckExports(t, New(), "ends_with", "query_encode", "query_parse", "slug", "split",
		"starts_with", "trim", "url_decode", "url_encode")
}
