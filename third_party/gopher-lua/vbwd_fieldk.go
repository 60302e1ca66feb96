package lua

// vbwd: getFieldString and setFieldString for the VM's GETTABLE, SELF and
// SETTABLE with a string key, given the key's LValue too (a constant of
// the proto, boxed once at compile time, or the register holding it), so
// neither an __index/__newindex call nor a new small-table key boxes the
// string again: one allocation less per field access through a metatable
// (req.params.name) and per key of a table built field by field.

// FieldIndexer is a userdata value that answers reads of its fields by
// name itself: for obj.name and obj:name(...) the VM calls IndexField
// instead of the __index function of the userdata's metatable, with no
// Lua call frame (about 100 ns a read; the engine's req and req.params).
// The metatable's __index still serves reads with a computed key
// (obj[k]), so the two must answer alike. IndexField may raise errors
// (RaiseError), which then name the reading line.
type FieldIndexer interface {
	IndexField(L *LState, key string) LValue
}

func (ls *LState) getFieldK(obj LValue, key string, k LValue) LValue {
	curobj := obj
	for i := 0; i < MaxTableGetLoop; i++ {
		tb, istable := curobj.(*LTable)
		if istable {
			ret := tb.RawGetString(key)
			if ret != LNil {
				return ret
			}
		} else if ud, ok := curobj.(*LUserData); ok {
			if fi, ok := ud.Value.(FieldIndexer); ok {
				return fi.IndexField(ls, key)
			}
		}
		metaindex := ls.metaOp1(curobj, "__index")
		if metaindex == LNil {
			if !istable {
				ls.RaiseError("attempt to index a non-table object(%v) with key '%s'", curobj.Type().String(), key)
			}
			return LNil
		}
		if metaindex.Type() == LTFunction {
			ls.reg.Push(metaindex)
			ls.reg.Push(curobj)
			ls.reg.Push(k)
			ls.Call(2, 1)
			return ls.reg.Pop()
		}
		curobj = metaindex
	}
	ls.RaiseError("too many recursions in gettable")
	return nil
}

func (ls *LState) setFieldK(obj LValue, key string, k LValue, value LValue) {
	curobj := obj
	for i := 0; i < MaxTableGetLoop; i++ {
		tb, istable := curobj.(*LTable)
		if istable {
			if tb.RawGetString(key) != LNil {
				tb.rawSetStr(key, k, value)
				return
			}
		}
		metaindex := ls.metaOp1(curobj, "__newindex")
		if metaindex == LNil {
			if !istable {
				ls.RaiseError("attempt to index a non-table object(%v) with key '%s'", curobj.Type().String(), key)
			}
			tb.rawSetStr(key, k, value)
			return
		}
		if metaindex.Type() == LTFunction {
			ls.reg.Push(metaindex)
			ls.reg.Push(curobj)
			ls.reg.Push(k)
			ls.reg.Push(value)
			ls.Call(3, 0)
			return
		}
		curobj = metaindex
	}
	ls.RaiseError("too many recursions in settable")
}
