package luaconv

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// pair is one entry of a table being converted: an entry of the array part
// has its index in i and no k. key is the object key, set only once the table
// is known to be an object.
type pair struct {
	key string
	k   lua.LValue
	i   int
	v   lua.LValue
}

// index is the integer key of an entry of an array.
func (p *pair) index() lua.LNumber {
	if p.k == nil {
		return lua.LNumber(p.i)
	}
	return p.k.(lua.LNumber)
}

// scratch is the working space shared by AppendJSON and ToGo: the entries
// of the tables being converted, stacked level after level, and the tables on
// the current path for cycle detection. Scratch spaces are pooled: a slice a
// function appends to always ends up on the heap, so reusing them is what
// keeps encoding free of per-call allocations.
type scratch struct {
	pairs []pair
	path  []*lua.LTable
	used  int // high-water mark of pairs, cleared on release

	lim   Limits // AppendJSONLimited's bounds
	start int    // where the output began in dst
	n     int    // values encoded, to call lim.Check every checkEvery
}

// scratchPool is a cache, not state: a scratch space carries nothing from one
// conversion to the next (release clears it).
var scratchPool = sync.Pool{New: func() any {
	return &scratch{pairs: make([]pair, 0, 32), path: make([]*lua.LTable, 0, 16)}
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// release clears the references s holds, so pooled space keeps no Lua value
// alive, and returns s to the pool unless it grew unusually large.
func (s *scratch) release() {
	clear(s.pairs[:s.used])
	clear(s.path[:cap(s.path)])
	s.pairs, s.path, s.used = s.pairs[:0], s.path[:0], 0
	s.lim, s.start, s.n = Limits{}, 0, 0
	if cap(s.pairs) <= 1<<12 {
		scratchPool.Put(s)
	}
}

// enter pushes t on the current path, refusing cycles and deep nesting.
func (s *scratch) enter(t *lua.LTable) error {
	if len(s.path) >= MaxDepth {
		return newPathError("nesting deeper than " + strconv.Itoa(MaxDepth))
	}
	for _, p := range s.path {
		if p == t {
			return newPathError("cannot encode cyclic table")
		}
	}
	s.path = append(s.path, t)
	return nil
}

// leave drops the entries from base on and pops the current table.
func (s *scratch) leave(base int) {
	s.pairs = s.pairs[:base]
	s.path = s.path[:len(s.path)-1]
}

// collect appends the non-nil entries of t to s.pairs and reports whether t
// is an array. For an array the appended entries are ordered by index; for an
// object they carry their key string and are sorted by it. Entries appended
// later (by nested tables) go after them, so they keep their indices even
// when s.pairs moves.
//
// The array part is read with RawGetInt and the hash part with Next, which
// hands out the table's own key values: LTable.ForEach would box every key
// into a new interface value, one allocation per entry.
func (s *scratch) collect(t *lua.LTable) (isArray bool, err error) {
	base := len(s.pairs)
	n, last := 0, t.MaxN()
	for i := 1; i <= last; i++ {
		if v := t.RawGetInt(i); v != lua.LNil {
			n++
			s.pairs = append(s.pairs, pair{i: i, v: v})
		}
	}
	// n positive integer keys whose maximum is n are exactly 1..n.
	intKeys, ordered, maxKey := true, true, lua.LNumber(last)
	add := func(k, v lua.LValue) {
		n++
		if intKeys {
			num, ok := k.(lua.LNumber)
			switch {
			case ok && num == lua.LNumber(n):
				maxKey = max(maxKey, num)
			case ok && num >= 1 && num == lua.LNumber(int64(num)):
				ordered = false
				maxKey = max(maxKey, num)
			default:
				intKeys = false
			}
		}
		s.pairs = append(s.pairs, pair{k: k, v: v})
	}
	var k lua.LValue = lua.LNil // Next(LNumber(0)) would skip a hash entry
	if last > 0 {
		k = lua.LNumber(last)
	}
	for k, v := t.Next(k); k != lua.LNil; k, v = t.Next(k) {
		if num, ok := k.(lua.LNumber); ok && isArrayKey(num) {
			// Only Go code (RawSetH) puts such a key in the hash part, and
			// LTable.Next loops forever on it: start over with ForEach.
			s.used = max(s.used, len(s.pairs))
			s.pairs, n, intKeys, ordered, maxKey = s.pairs[:base], 0, true, true, 0
			t.ForEach(add)
			break
		}
		add(k, v)
	}
	s.used = max(s.used, len(s.pairs))
	if IsObjectMarked(t) {
		return false, objectKeys(s.pairs[base:])
	}
	if intKeys && n > 0 && maxKey == lua.LNumber(n) {
		if !ordered {
			slices.SortFunc(s.pairs[base:], func(a, b pair) int { return cmp.Compare(a.index(), b.index()) })
		}
		return true, nil
	}
	if IsArrayMarked(t) {
		if n == 0 {
			return true, nil
		}
		return false, newPathError("cannot encode table marked as array with non-sequential keys")
	}
	return false, objectKeys(s.pairs[base:])
}

// objectKeys fills in the keys of ps and sorts ps by key.
func objectKeys(ps []pair) error {
	for i := range ps {
		if ps[i].k == nil {
			ps[i].key = strconv.Itoa(ps[i].i)
			continue
		}
		switch k := ps[i].k.(type) {
		case lua.LString:
			ps[i].key = string(k)
		case lua.LNumber:
			b, ok := appendNumber(nil, float64(k))
			if !ok {
				return newPathError("cannot encode table key " + k.String())
			}
			ps[i].key = string(b)
		default:
			return newPathError("cannot encode table key of type " + k.Type().String())
		}
	}
	sortByKey(ps)
	for i := 1; i < len(ps); i++ {
		if ps[i].key == ps[i-1].key {
			return newPathError("duplicate object key " + strconv.Quote(ps[i].key)).in(keySegment(ps[i].key))
		}
	}
	return nil
}

// sortByKey sorts ps by key. Objects are mostly small, and a plain
// insertion sort with inline comparisons beats the generic sort there.
func sortByKey(ps []pair) {
	if len(ps) > 12 {
		slices.SortFunc(ps, func(a, b pair) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].key >= ps[i-1].key {
			continue
		}
		p, j := ps[i], i
		for ; j > 0 && p.key < ps[j-1].key; j-- {
			ps[j] = ps[j-1]
		}
		ps[j] = p
	}
}

// isArrayKey reports whether n is a key gopher-lua keeps in the array part.
func isArrayKey(n lua.LNumber) bool {
	return n >= 1 && n < lua.LNumber(lua.MaxArrayIndex) && n == lua.LNumber(int64(n))
}

// valueError is the error for a value that is not data.
func valueError(v lua.LValue) error {
	return newPathError("cannot encode " + v.Type().String())
}

// pathError is a conversion error with the path of the offending value. The
// path is built while unwinding, so the success path pays nothing for it.
type pathError struct {
	msg  string
	segs []string // innermost first
}

func newPathError(msg string) *pathError { return &pathError{msg: msg} }

// in prepends seg to the path of e and returns e.
func (e *pathError) in(seg string) *pathError {
	e.segs = append(e.segs, seg)
	return e
}

func (e *pathError) Error() string {
	var b strings.Builder
	b.WriteString(e.msg)
	b.WriteString(" at $")
	for i := len(e.segs) - 1; i >= 0; i-- {
		b.WriteString(e.segs[i])
	}
	return b.String()
}

// wrapIndex and wrapKey add a path segment to err if it is a *pathError.
func wrapIndex(err error, i int) error {
	if pe, ok := err.(*pathError); ok {
		return pe.in("[" + strconv.Itoa(i) + "]")
	}
	return err
}

func wrapKey(err error, key string) error {
	if pe, ok := err.(*pathError); ok {
		return pe.in(keySegment(key))
	}
	return err
}

// keySegment renders an object key as a path segment: .name for identifiers,
// ["other key"] otherwise.
func keySegment(key string) string {
	if isIdent(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}
