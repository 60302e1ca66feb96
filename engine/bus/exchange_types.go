package bus

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/internal/fieldtype"
)

// Declared field types of an exchanger: ctx:exchanger{..., types = {price =
// "integer", active = "boolean", meta = "json", starts = "timestamp"}}. A
// CSV cell is text; the engine converts it to the declared type before the
// plugin's import sees the row (a JSON value is checked the same way), and
// a value that does not convert is a per-row error naming the field.

// parseExchangerTypes reads the types option of an exchanger declaration.
func parseExchangerTypes(sp *admin.ExchangerSpec, t *lua.LTable) error {
	v := t.RawGetString("types")
	if v == lua.LNil {
		return nil
	}
	tt, ok := v.(*lua.LTable)
	if !ok {
		return fmt.Errorf("exchanger %s: types must be a table of field = type (%s)", sp.Key, fieldtype.Names)
	}
	known := map[string]bool{}
	for _, f := range sp.Fields {
		known[f] = true
	}
	var err error
	sp.Types = map[string]string{}
	tt.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		field, ok1 := k.(lua.LString)
		name, ok2 := v.(lua.LString)
		switch {
		case !ok1 || !ok2:
			err = fmt.Errorf("exchanger %s: types must map field names to type names (%s)", sp.Key, fieldtype.Names)
		case len(known) > 0 && !known[string(field)]:
			err = fmt.Errorf("exchanger %s: types names %q, which is not one of its fields", sp.Key, string(field))
		default:
			if _, perr := fieldtype.Parse(string(name)); perr != nil {
				err = fmt.Errorf("exchanger %s: field %s: %v", sp.Key, string(field), perr)
			}
			sp.Types[string(field)] = string(name)
		}
	})
	return err
}
