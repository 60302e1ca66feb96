package engine

import (
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/fieldtype"
)

// Declared field types of an exchanger: ctx:exchanger{..., types = {price =
// "integer", active = "boolean", meta = "json", starts = "timestamp"}}. A
// CSV cell is text; the engine converts it to the declared type before the
// plugin's import sees the row (a JSON value is checked the same way), and
// a value that does not convert is a per-row error naming the field.

// parseExchangerTypes reads the types option of an exchanger declaration.
func parseExchangerTypes(sp *ExchangerSpec, t *lua.LTable) error {
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

// convertFieldTypes converts the typed fields of rows in place (CSV text or
// JSON values) and returns a RowError per value that does not fit.
func convertFieldTypes(spec ExchangerSpec, format string, rows []map[string]any) []RowError {
	if len(spec.Types) == 0 {
		return nil
	}
	fields := make([]string, 0, len(spec.Types))
	for f := range spec.Types {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var errs []RowError
	for i, row := range rows {
		var msgs []string
		for _, f := range fields {
			v, ok := row[f]
			if !ok || v == nil {
				continue
			}
			t := fieldtype.Type(spec.Types[f])
			var out any
			var err error
			if s, isText := v.(string); isText && format == "csv" {
				out, err = fieldtype.FromText(t, s)
			} else {
				out, err = fieldtype.Check(t, v)
			}
			if err != nil {
				msgs = append(msgs, f+": "+err.Error())
				continue
			}
			row[f] = out
		}
		if len(msgs) > 0 {
			errs = append(errs, RowError{Row: i + 1, Error: strings.Join(msgs, "; ")})
		}
	}
	return errs
}

// checkRows is validateRows plus the declared types, errors ordered by row.
func checkRows(spec ExchangerSpec, format string, rows []map[string]any) []RowError {
	errs := append(validateRows(spec, rows), convertFieldTypes(spec, format, rows)...)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	return errs
}
