package stream

import (
	"context"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// Publisher sends a server-sent event to a channel's subscribers; the engine
// implements it.
type Publisher interface {
	Publish(ctx context.Context, channel, event, id, data string) error
}

// Module is vbwd.stream for one plugin.
type Module struct {
	pub    Publisher
	plugin string
}

// New returns the module publishing for plugin through pub (nil: every
// publish fails with "no stream broker").
func New(pub Publisher, plugin string) *Module { return &Module{pub: pub, plugin: plugin} }

// Name returns "stream".
func (m *Module) Name() string { return "stream" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 1), map[string]lua.LGFunction{"publish": m.publish}))
	return 1
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{{Name: "publish", Sig: "publish(channel: string, data: any, event?: string, id?: string): boolean?, string?",
		Doc: "send a server-sent event (data: a string, or a table sent as JSON) to the subscribers of the plugin's channel <plugin>.<name>, on every engine"}}
}

func (m *Module) publish(L *lua.LState) int {
	if hostapi.InBuildPhase(L) {
		L.RaiseError("vbwd.stream: publish is not allowed during initialize/routes/on_enable")
	}
	channel := L.CheckString(1)
	if !strings.HasPrefix(channel, m.plugin+".") {
		L.ArgError(1, fmt.Sprintf("channel %q must be %s.<name>", channel, m.plugin))
	}
	data, err := Data(L.CheckAny(2))
	if err != nil {
		L.ArgError(2, err.Error())
	}
	if m.pub == nil {
		L.Push(lua.LNil)
		L.Push(lua.LString("vbwd.stream: no stream broker"))
		return 2
	}
	ctx := L.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.pub.Publish(ctx, channel, L.OptString(3, ""), L.OptString(4, ""), data); err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString("vbwd.stream: " + err.Error()))
		return 2
	}
	L.Push(lua.LTrue)
	return 1
}

// Data is an event's data: a string as it is, anything else as JSON.
func Data(v lua.LValue) (string, error) {
	if s, ok := v.(lua.LString); ok {
		return string(s), nil
	}
	b, err := luaconv.AppendJSON(nil, v)
	return string(b), err
}
