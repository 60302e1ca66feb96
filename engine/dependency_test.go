package engine

import (
	"strings"
	"testing"
)

func TestEngine_DependencyFailuresDoNotStopOthers(t *testing.T) {
	root := writeRoot(t, files{
		"plugins/base/init.lua":  pluginSrc("base", "", "function P.initialize() error('base is broken') end"),
		"plugins/child/init.lua": pluginSrc("child", `, dependencies = {"base"}`, ""),
		"plugins/loner/init.lua": pluginSrc("loner", `, dependencies = {"ghost"}`, ""),
		"plugins/ok/init.lua":    pluginSrc("ok", "", `function P.routes(r) r:get("/", function() return 200, {} end) end`),
	})
	te := startEngine(t, root, nil)
	if st := te.status(t, "child"); st.State != StateFailed || !strings.Contains(st.Error, "child -> base") {
		t.Errorf("child: %s %s", st.State, st.Error)
	}
	if st := te.status(t, "loner"); st.State != StateFailed || !strings.Contains(st.Error, "loner -> ghost: ghost is not installed") {
		t.Errorf("loner: %s %s", st.State, st.Error)
	}
	if st := te.status(t, "ok"); st.State != StateEnabled {
		t.Errorf("ok: %s %s", st.State, st.Error)
	}
}
