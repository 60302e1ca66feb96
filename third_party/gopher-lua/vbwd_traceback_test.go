package lua

import (
	"strings"
	"testing"
)

// A Lua function called from Go — how the engine calls a route or event
// handler — is named by its definition in tracebacks, not "main chunk".
func TestTracebackNamesFunctionsCalledFromGo(t *testing.T) {
	L := NewState()
	defer L.Close()
	if err := L.DoString("handler = function(req)\n  error('boom')\nend"); err != nil {
		t.Fatal(err)
	}
	err := L.CallByParam(P{Fn: L.GetGlobal("handler"), NRet: 0, Protect: true})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "<string>:2: boom") || !strings.Contains(msg, "in function <<string>:1>") {
		t.Errorf("traceback does not name the handler:\n%s", msg)
	}
	if strings.Contains(msg, "main chunk") {
		t.Errorf("traceback calls the handler the main chunk:\n%s", msg)
	}
	// a chunk is still the main chunk
	err = L.DoString("error('top')")
	if err == nil || !strings.Contains(err.Error(), "in main chunk") {
		t.Errorf("a chunk's traceback: %v", err)
	}
}
