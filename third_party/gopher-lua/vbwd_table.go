package lua

// vbwd: small tables. Upstream keeps a table's string keys in a Go map
// (made with room for 32), plus a key slice and a key→index map for next():
// a response table like {hello = name, n = 42} cost about ten allocations
// and a kilobyte. A table now keeps its first smallStrKeys string keys in
// one slice of pairs, searched linearly, and moves them into the maps only
// when it gets more. Order of pairs()/next() over them: insertion order,
// after the array part and before the other hash keys. A key set to nil
// keeps its slot (with LNil), so clearing fields during a traversal works
// as upstream's does.

// smallStrKeys is how many string keys a table holds before its maps.
const smallStrKeys = 8

type strPair struct {
	k LValue // always an LString, boxed once
	v LValue
}

// Tables allocated with room for their one small part: a constructor with
// only string keys ({hello = name, n = 42}: the compiler's size hint) or
// only an array part ({1, 2, 3}), and Go code's CreateTable with such
// sizes (a database row), cost one allocation instead of two. The part can
// still grow past the room: append moves it out, as it would any slice.
// The room lives as long as the table: promote clears it; an array part
// that grew out of it leaves there copies of its first 4 or 8 values,
// held until the table is collected (bounded, and accepted).
type (
	tableS2 struct {
		t LTable
		p [2]strPair
	}
	tableS4 struct {
		t LTable
		p [4]strPair
	}
	tableS8 struct {
		t LTable
		p [8]strPair
	}
	tableA4 struct {
		t LTable
		a [4]LValue
	}
	tableA8 struct {
		t LTable
		a [8]LValue
	}
)

// newTableWithPart is newLTable for the sizes above, else nil.
func newTableWithPart(acap, hcap int) *LTable {
	var tb *LTable
	switch {
	case acap == 0 && hcap > 0 && hcap <= 2:
		x := &tableS2{}
		tb = &x.t
		tb.small = x.p[:0]
	case acap == 0 && hcap > 2 && hcap <= 4:
		x := &tableS4{}
		tb = &x.t
		tb.small = x.p[:0]
	case acap == 0 && hcap > 4 && hcap <= smallStrKeys:
		x := &tableS8{}
		tb = &x.t
		tb.small = x.p[:0]
	case hcap == 0 && acap > 0 && acap <= 4:
		x := &tableA4{}
		tb = &x.t
		tb.array = x.a[:0]
	case hcap == 0 && acap > 4 && acap <= 8:
		x := &tableA8{}
		tb = &x.t
		tb.array = x.a[:0]
	default:
		return nil
	}
	tb.Metatable = LNil
	return tb
}

// smallSet sets key in tb.small; false when tb.small is full and key is new
// (the caller then promotes the table).
func (tb *LTable) smallSet(key string, boxed, value LValue) bool {
	for i := range tb.small {
		if string(tb.small[i].k.(LString)) == key {
			tb.small[i].v = value
			return true
		}
	}
	if value == LNil {
		return true
	}
	if len(tb.small) >= smallStrKeys {
		return false
	}
	if !tb.charge(hashSlotBytes) { // a new key is charged, as upstream's path does
		return true
	}
	if boxed == nil {
		boxed = LString(key)
	}
	if tb.small == nil {
		tb.small = make([]strPair, 0, 4)
	}
	tb.small = append(tb.small, strPair{boxed, value})
	return true
}

func (tb *LTable) smallGet(key string) LValue {
	for i := range tb.small {
		if string(tb.small[i].k.(LString)) == key {
			return tb.small[i].v
		}
	}
	return LNil
}

// promote moves the small string keys into strdict, keys and k2i.
func (tb *LTable) promote() {
	tb.strdict = make(map[string]LValue, defaultHashCap)
	if tb.keys == nil {
		tb.keys = []LValue{}
		tb.k2i = map[LValue]int{}
	}
	for _, p := range tb.small {
		if p.v == LNil {
			continue
		}
		tb.strdict[string(p.k.(LString))] = p.v
		tb.k2i[p.k] = len(tb.keys)
		tb.keys = append(tb.keys, p.k)
	}
	clear(tb.small) // it may be the room allocated with the table (newTableWithPart), kept as long as the table
	tb.small = nil
}

// smallFrom returns the first live pair of tb.small from index i.
func (tb *LTable) smallFrom(i int) (LValue, LValue) {
	for ; i < len(tb.small); i++ {
		if p := tb.small[i]; p.v != LNil {
			return p.k, p.v
		}
	}
	return LNil, LNil
}

// nextAfterSmall is next() after the small key: the following small pair,
// else the first live one of the other hash keys.
func (tb *LTable) nextAfterSmall(key string) (LValue, LValue) {
	i := -1
	for j := range tb.small {
		if string(tb.small[j].k.(LString)) == key {
			i = j
			break
		}
	}
	if i < 0 {
		return LNil, LNil // not a key of this table
	}
	if k, v := tb.smallFrom(i + 1); k != LNil {
		return k, v
	}
	for _, k := range tb.keys {
		if v := tb.RawGetH(k); v != LNil {
			return k, v
		}
	}
	return LNil, LNil
}
