package engine

import (
	"strings"
	"testing"
)

// TestServices_Extension: a plugin calls the services of its extensions —
// plugins that depend on it — by a name it gets from its config, as
// subscription calls its payments provider; a plugin related to the
// provider in neither direction is still refused.
func TestServices_Extension(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/host/init.lua": pluginSrc("host", "", `
local di = require("vbwd.di")
function P.routes(r)
  r:get("/", function()
    local svc, e = di.get("ext.pay")
    if not svc then return 200, { err = e } end
    return 200, { got = svc.charge(5) }
  end)
end`),
		"plugins/ext/init.lua": pluginSrc("ext", `, dependencies = { "host" }`, `
function P.on_enable(ctx) ctx:provide("ext.pay", { charge = function(n) return n * 2 end }) end`),
		"plugins/other/init.lua": pluginSrc("other", "", `
local di = require("vbwd.di")
function P.routes(r)
  r:get("/", function()
    local svc, e = di.get("ext.pay")
    return 200, { found = svc ~= nil, err = e }
  end)
end`),
	})
	te := startEngine(t, root, nil)
	if r := te.do(t, "GET", "/api/host", ""); r.status != 200 || r.body != `{"got":10}` {
		t.Errorf("host calling its extension: %d %s", r.status, r.body)
	}
	r := te.do(t, "GET", "/api/other", "")
	if r.status != 200 || r.json["found"] != false || !strings.Contains(r.body, "does not depend on ext") {
		t.Errorf("an unrelated plugin: %d %s", r.status, r.body)
	}
}
