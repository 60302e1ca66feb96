package shared

import (
	"math"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/hostapi"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// buildPhaseError is raised by writes during the build phase.
const buildPhaseError = "vbwd.shared: writes are not allowed during on_enable (it runs once per pooled state)"

// Module is the vbwd.shared module of one plugin generation, bound to its
// plugin's bucket.
type Module struct {
	bucket *Bucket
}

// New returns the module for bucket, typically store.Bucket(plugin.Name).
func New(b *Bucket) *Module { return &Module{bucket: b} }

// Name returns "shared".
func (m *Module) Name() string { return "shared" }

// Loader pushes the module table.
func (m *Module) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.CreateTable(0, 7), m.exports()))
	return 1
}

func (m *Module) exports() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"get":    m.get,
		"set":    m.set,
		"add":    m.add,
		"incr":   m.incr,
		"delete": m.delete,
		"ttl":    m.ttl,
		"keys":   m.keys,
	}
}

// Docs documents the module table.
func (m *Module) Docs() []hostapi.Export {
	return []hostapi.Export{
		{Name: "get", Sig: "get(key: string): any", Doc: "a copy of the value stored under key, or nil if absent or expired"},
		{Name: "set", Sig: "set(key: string, value: any, ttl?: number): boolean?, string?", Doc: "store a copy of value (nil or json.null deletes) for ttl seconds (default forever) and return true, or nil and an error"},
		{Name: "add", Sig: "add(key: string, value: any, ttl?: number): boolean?, string?", Doc: "store value only if key is absent or expired and tell whether it did, or return nil and an error"},
		{Name: "incr", Sig: "incr(key: string, delta?: number, ttl?: number): number?, string?", Doc: "atomically add delta (default 1) to the number under key (created at 0 with ttl) and return it, or nil and an error"},
		{Name: "delete", Sig: "delete(key: string): boolean", Doc: "remove key and tell whether it was present"},
		{Name: "ttl", Sig: "ttl(key: string): number?", Doc: "seconds until key expires (math.huge if never), or nil if absent"},
		{Name: "keys", Sig: "keys(prefix?: string): string[]", Doc: "the live keys starting with prefix, sorted"},
	}
}

// get implements shared.get(key) -> value | nil.
func (m *Module) get(L *lua.LState) int {
	v, ok := m.bucket.Get(checkKeyArg(L, 1))
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(luaconv.FromGo(L, v))
	return 1
}

// set implements shared.set(key, value, ttl?) -> true | nil, err.
func (m *Module) set(L *lua.LState) int {
	refuseBuildPhase(L)
	key := checkKeyArg(L, 1)
	value := checkValueArg(L, 2)
	ttl := checkTTLArg(L, 3)
	if err := m.bucket.Set(key, value, ttl); err != nil {
		return fail(L, err)
	}
	L.Push(lua.LTrue)
	return 1
}

// add implements shared.add(key, value, ttl?) -> bool | nil, err.
func (m *Module) add(L *lua.LState) int {
	refuseBuildPhase(L)
	key := checkKeyArg(L, 1)
	value := checkValueArg(L, 2)
	if value == nil {
		L.ArgError(2, "value must not be nil")
	}
	added, err := m.bucket.Add(key, value, checkTTLArg(L, 3))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LBool(added))
	return 1
}

// incr implements shared.incr(key, delta?, ttl?) -> number | nil, err.
func (m *Module) incr(L *lua.LState) int {
	refuseBuildPhase(L)
	key := checkKeyArg(L, 1)
	delta := float64(L.OptNumber(2, 1))
	if math.IsNaN(delta) || math.IsInf(delta, 0) {
		L.ArgError(2, "delta must be a finite number")
	}
	n, err := m.bucket.Incr(key, delta, checkTTLArg(L, 3))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lua.LNumber(n))
	return 1
}

// delete implements shared.delete(key) -> bool.
func (m *Module) delete(L *lua.LState) int {
	refuseBuildPhase(L)
	L.Push(lua.LBool(m.bucket.Delete(checkKeyArg(L, 1))))
	return 1
}

// ttl implements shared.ttl(key) -> seconds | nil.
func (m *Module) ttl(L *lua.LState) int {
	expires, ok := m.bucket.Expiry(checkKeyArg(L, 1))
	switch {
	case !ok:
		L.Push(lua.LNil)
	case expires.IsZero():
		// gopher-lua's math.huge is the largest float, not +Inf; return the
		// same value so that ttl(k) == math.huge holds.
		L.Push(lua.LNumber(math.MaxFloat64))
	default:
		L.Push(lua.LNumber(expires.Sub(m.bucket.store.clock()).Seconds()))
	}
	return 1
}

// keys implements shared.keys(prefix?) -> array.
func (m *Module) keys(L *lua.LState) int {
	keys := m.bucket.Keys(L.OptString(1, ""))
	t := L.CreateTable(len(keys), 0)
	for i, k := range keys {
		t.RawSetInt(i+1, lua.LString(k))
	}
	L.Push(luaconv.MarkArray(t))
	return 1
}

func refuseBuildPhase(L *lua.LState) {
	if hostapi.InBuildPhase(L) {
		L.RaiseError(buildPhaseError)
	}
}

// checkKeyArg returns argument n as a valid key, raising otherwise.
func checkKeyArg(L *lua.LState, n int) string {
	key := L.CheckString(n)
	if err := checkKey(key); err != nil {
		L.ArgError(n, err.Error())
	}
	return key
}

// checkValueArg copies argument n into Go data, raising for values that are
// not data (functions, cycles, ...).
func checkValueArg(L *lua.LState, n int) any {
	v, err := luaconv.ToGo(L.Get(n))
	if err != nil {
		L.ArgError(n, err.Error())
	}
	return v
}

// checkTTLArg returns the optional TTL in seconds at argument n; nil or 0
// means no expiry.
func checkTTLArg(L *lua.LState, n int) time.Duration {
	ttl := float64(L.OptNumber(n, 0))
	if ttl < 0 || math.IsNaN(ttl) || ttl > math.MaxInt64/float64(time.Second) {
		L.ArgError(n, "ttl must be a non-negative number of seconds")
	}
	d := time.Duration(ttl * float64(time.Second))
	if ttl > 0 && d == 0 {
		d = 1 // a positive TTL below a nanosecond still expires
	}
	return d
}

// fail pushes the runtime-failure results nil, err.
func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString("vbwd.shared: " + err.Error()))
	return 2
}

var _ hostapi.Documented = (*Module)(nil)
