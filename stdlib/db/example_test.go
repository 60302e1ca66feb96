package db_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/stdlib/db"
	"github.com/vbwd-platform/vbwd-engine/stdlib/json"
)

func Example() {
	cfg, err := pgxpool.ParseConfig(db.ServerURL())
	if err != nil {
		panic(err)
	}
	cfg.MaxConns = 1 // one session, for the temporary table
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	L := lua.NewState()
	defer L.Close()
	L.SetContext(context.Background()) // the engine sets the request's context
	L.PreloadModule("vbwd.db", db.New(pool, db.Options{Plugin: "notes"}).Loader)
	L.PreloadModule("vbwd.json", json.New().Loader)
	err = L.DoString(`
		local db = require("vbwd.db")
		local json = require("vbwd.json")
		db.exec("create temporary table notes (id serial primary key, slug text unique, tags text[], due date)")
		local id = db.tx(function(tx)
			local row = tx.query_one("insert into notes (slug, tags, due) values ($1, $2, $3) returning id",
				"hello", { "a", "b" }, "2026-11-26")
			return row.id
		end)
		print(id, json.encode(db.query("select * from notes")))
		local n, err = db.exec("insert into notes (slug) values ($1)", "hello")
		print(n, err.code, err.constraint)
		print(err)
	`)
	fmt.Println(err)
	// Output:
	// 1	[{"due":"2026-11-26","id":1,"slug":"hello","tags":["a","b"]}]
	// nil	23505	notes_slug_key
	// vbwd.db: duplicate key value violates unique constraint "notes_slug_key" (SQLSTATE 23505)
	// <nil>
}
