package registry

import (
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	lua "github.com/yuin/gopher-lua"
)

// parseDocOption reads the route options that only document a route in
// /openapi.json: summary = "..." and response = {JSON Schema of the 200
// body}. It reports whether key was one of them.
func parseDocOption(key string, v lua.LValue, rt *Route) (bool, error) {
	switch key {
	case "summary":
		s, ok := v.(lua.LString)
		if !ok || s == "" {
			return true, fmt.Errorf("option summary must be a non-empty string")
		}
		rt.Summary = string(s)
	case "response":
		schema, err := schemaOption("response", v)
		if err != nil {
			return true, err
		}
		rt.Response = schema
	default:
		return false, nil
	}
	return true, nil
}

// schemaOption turns a Lua table into a JSON Schema (a JSON object that
// compiles as draft 2020-12), so a typo fails at the r:get line rather than
// in the published document.
func schemaOption(name string, v lua.LValue) (map[string]any, error) {
	if _, ok := v.(*lua.LTable); !ok {
		return nil, fmt.Errorf("option %s must be a table (a JSON Schema), got %s", name, v.Type())
	}
	g, err := luaconv.ToGo(v)
	if err != nil {
		return nil, fmt.Errorf("option %s: %v", name, err)
	}
	m, ok := g.(map[string]any)
	if !ok {
		if l, isList := g.([]any); !isList || len(l) != 0 {
			return nil, fmt.Errorf("option %s must be a JSON Schema object (a table with keys), not a list", name)
		}
		m = map[string]any{} // {} is the empty schema: anything
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("option %s: %v", name, err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("option %s: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("route-option:"+name, doc); err != nil {
		return nil, fmt.Errorf("option %s is not a JSON Schema: %v", name, err)
	}
	if _, err := c.Compile("route-option:" + name); err != nil {
		return nil, fmt.Errorf("option %s is not a JSON Schema: %v", name, err)
	}
	return m, nil
}
