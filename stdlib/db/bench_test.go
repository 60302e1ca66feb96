package db

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

const benchQuery = "select id, title from bench where id = $1"

// reportCPU reports the CPU time of this process per operation since
// start: unlike the wall time, it leaves out the time spent waiting for
// PostgreSQL, so the Lua and pgx benchmarks differ by the module's own cost.
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	}
}

// benchPool is a pool on a fresh database with a small table bench.
func benchPool(b *testing.B) *pgxpool.Pool {
	pool := newPool(b)
	_, err := pool.Exec(context.Background(), `
		create table bench (id int primary key, title text not null);
		insert into bench select n, 'title ' || n from generate_series(1, 5) n`)
	if err != nil {
		b.Fatal(err)
	}
	return pool
}

// BenchmarkQueryOneLua is a Lua function calling db.query_one, called from
// Go as the engine calls handlers. Compare with BenchmarkQueryOnePgx: the
// difference is what db.query_one adds to pgx per call.
func BenchmarkQueryOneLua(b *testing.B) {
	pool := benchPool(b)
	L := luatest.NewState(b, New(pool, Options{}))
	L.SetContext(context.Background())
	if err := L.DoString(`
		local db = require("vbwd.db")
		function get(n)
			return db.query_one("` + benchQuery + `", n)
		end`); err != nil {
		b.Fatal(err)
	}
	get := L.GetGlobal("get")
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		L.Push(get)
		L.Push(lua.LNumber(i%5 + 1))
		if err := L.PCall(1, 1, nil); err != nil {
			b.Fatal(err)
		}
		row, ok := L.Get(-1).(*lua.LTable)
		if !ok || row.RawGetString("title") == lua.LNil {
			b.Fatalf("got %v", L.Get(-1))
		}
		L.Pop(1)
		i++
	}
}

func BenchmarkQueryOnePgx(b *testing.B) {
	pool := benchPool(b)
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		var id int32
		var title string
		if err := pool.QueryRow(ctx, benchQuery, i%5+1).Scan(&id, &title); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkQueryLua reads 100 rows of 4 columns into Lua tables.
func BenchmarkQueryLua(b *testing.B) {
	pool := benchPool(b)
	if _, err := pool.Exec(context.Background(), `
		create table wide (id int, title text, created timestamptz, price numeric);
		insert into wide select n, 'title ' || n, now(), n * 1.25 from generate_series(1, 100) n`); err != nil {
		b.Fatal(err)
	}
	L := luatest.NewState(b, New(pool, Options{}))
	if err := L.DoString(`
		local db = require("vbwd.db")
		function all()
			return db.query("select id, title, created, price from wide")
		end`); err != nil {
		b.Fatal(err)
	}
	all := L.GetGlobal("all")
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		L.Push(all)
		if err := L.PCall(0, 1, nil); err != nil {
			b.Fatal(err)
		}
		if rows, ok := L.Get(-1).(*lua.LTable); !ok || rows.Len() != 100 {
			b.Fatalf("got %v", L.Get(-1))
		}
		L.Pop(1)
	}
}

// BenchmarkScanRow is the decoding part of db.query_one for the row of
// BenchmarkQueryOneLua (int4 id, text title), without I/O.
func BenchmarkScanRow(b *testing.B) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	s := &scanner{L: L, cols: []column{
		{name: "id", oid: pgtype.Int4OID, dec: decodeInt4},
		{name: "title", oid: pgtype.TextOID, dec: decodeString},
	}}
	raw := [][]byte{{0, 0, 0, 3}, []byte("title 3")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.row(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallOverhead is a Lua function calling a Go function with the
// arguments of BenchmarkQueryOneLua converted as db.query_one converts
// them, without I/O: the Lua side of the call.
func BenchmarkCallOverhead(b *testing.B) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	L.SetContext(context.Background())
	L.SetGlobal("query_one", L.NewFunction(func(L *lua.LState) int {
		refuseBuildPhase(L)
		_ = checkSQL(L)
		_ = args(L, 2, resultFormats)
		L.Push(lua.LNil)
		return 1
	}))
	if err := L.DoString(`function get(n) return query_one("` + benchQuery + `", n) end`); err != nil {
		b.Fatal(err)
	}
	get := L.GetGlobal("get")
	b.ReportAllocs()
	for b.Loop() {
		L.Push(get)
		L.Push(lua.LNumber(3))
		if err := L.PCall(1, 1, nil); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
	}
}
