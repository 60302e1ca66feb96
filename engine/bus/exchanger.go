package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vbwd-platform/vbwd-engine/engine/admin"
	"github.com/vbwd-platform/vbwd-engine/engine/errs"
	"github.com/vbwd-platform/vbwd-engine/engine/luavm"
	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
	vdb "github.com/vbwd-platform/vbwd-engine/stdlib/db"
	lua "github.com/yuin/gopher-lua"
)

// The plugin side of data exchangers (ctx:exchanger): their declaration is
// checked at registration, and export and import call into the plugin. The
// HTTP side, /admin/data-exchange, is engine/admin's (exchange.go).

const importTimeout = 10 * time.Minute

// ExchangerFromSpec reads and checks the declaration t of an exchanger
// (ctx:exchanger) of plugin.
func ExchangerFromSpec(plugin string, t *lua.LTable) (admin.ExchangerSpec, error) {
	str := func(k string) string { s, _ := t.RawGetString(k).(lua.LString); return string(s) }
	list := func(k string) []string {
		var out []string
		if l, ok := t.RawGetString(k).(*lua.LTable); ok {
			for i := 1; i <= l.Len(); i++ {
				if s, ok := l.RawGetInt(i).(lua.LString); ok {
					out = append(out, string(s))
				}
			}
		}
		return out
	}
	sp := admin.ExchangerSpec{Key: str("key"), Plugin: plugin, Label: str("label"), NaturalKey: str("natural_key"),
		Formats: list("formats"), Fields: list("fields"), PII: list("pii"), Secret: list("secret")}
	if len(sp.Formats) == 0 {
		sp.Formats = []string{"json", "csv"}
	}
	if err := parseExchangerTypes(&sp, t); err != nil {
		return sp, err
	}
	for _, f := range sp.Formats {
		if f != "json" && f != "csv" {
			return sp, fmt.Errorf("exchanger %s: format %q (json, csv)", sp.Key, f)
		}
		if f == "csv" && len(sp.Fields) == 0 {
			return sp, fmt.Errorf("exchanger %s: csv needs fields (the column order)", sp.Key)
		}
	}
	switch {
	case sp.NaturalKey == "":
		return sp, fmt.Errorf("exchanger %s: natural_key is required", sp.Key)
	case t.RawGetString("export").Type() != lua.LTFunction:
		return sp, fmt.Errorf("exchanger %s: export must be function(query)", sp.Key)
	case t.RawGetString("import").Type() != lua.LTFunction:
		return sp, fmt.Errorf("exchanger %s: import must be function(rows, opts)", sp.Key)
	}
	return sp, nil
}

func callExport(ctx context.Context, L *lua.LState, plugin string, spec *lua.LTable, offset, limit int) ([]map[string]any, error) {
	q := L.CreateTable(0, 2)
	q.RawSetString("offset", lua.LNumber(offset))
	q.RawSetString("limit", lua.LNumber(limit))
	L.Push(spec.RawGetString("export"))
	L.Push(q)
	if err := L.PCall(1, 1, nil); err != nil {
		return nil, luavm.WithCtxErr(ctx, errs.NormalizeLuaError(plugin, "export", err))
	}
	v := L.Get(-1)
	L.Pop(1)
	g, err := luaconv.ToGo(v)
	if err != nil {
		return nil, fmt.Errorf("export returned %v", err)
	}
	list, ok := g.([]any)
	if !ok && g != nil {
		if m, isMap := g.(map[string]any); !isMap || len(m) != 0 {
			return nil, fmt.Errorf("export must return an array of rows, got %T", g)
		}
	}
	rows := make([]map[string]any, 0, len(list))
	for i, item := range list {
		row, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("export row %d is not a table", offset+i+1)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Exchanger is a serving exchanger as engine/admin uses it (admin.Exchanger).
type Exchanger[R Ref] struct {
	b    Bus[R]
	ref  R
	spec admin.ExchangerSpec
}

// Exchanger is the exchanger ref registered, declared as spec.
func (b Bus[R]) Exchanger(ref R, spec admin.ExchangerSpec) Exchanger[R] {
	return Exchanger[R]{b: b, ref: ref, spec: spec}
}

func (x Exchanger[R]) Spec() admin.ExchangerSpec { return x.spec }

func (x Exchanger[R]) Export(ctx context.Context, offset, limit int) ([]map[string]any, error) {
	var page []map[string]any
	err := x.ref.Run(ctx, func(L *lua.LState, v lua.LValue) error {
		var err error
		page, err = callExport(ctx, L, x.ref.Plugin(), v.(*lua.LTable), offset, limit)
		return err
	})
	return page, err
}

// Import calls the exchanger's import in one transaction: committed only
// when nothing failed and this is not a dry run.
func (x Exchanger[R]) Import(ctx context.Context, rows []map[string]any, res *admin.ImportResult) error {
	if x.b.c.DB == nil {
		return errors.New("imports need a database")
	}
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	plugin := x.ref.Plugin()
	pool, err := x.b.h.PluginPool(plugin)
	if err != nil {
		return err
	}
	return x.ref.Run(ctx, func(L *lua.LState, v lua.LValue) error {
		tx, err := pool.Begin(ctx) // as the plugin's role, like its own db.tx
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
		afterCommit, err := vdb.WithTx(L, tx, func() error { return callImport(ctx, L, plugin, v.(*lua.LTable), rows, res) })
		if err != nil || len(res.Errors) > 0 || res.DryRun {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		res.Committed = true
		for _, fn := range afterCommit {
			fn() // the events the import published: wake a delivery worker
		}
		return nil
	})
}

func callImport(ctx context.Context, L *lua.LState, plugin string, spec *lua.LTable, rows []map[string]any, res *admin.ImportResult) error {
	list := make([]any, len(rows))
	for i, r := range rows {
		list[i] = r
	}
	opts := L.CreateTable(0, 2)
	opts.RawSetString("dry_run", lua.LBool(res.DryRun))
	opts.RawSetString("mode", lua.LString(res.Mode))
	L.Push(spec.RawGetString("import"))
	L.Push(luaconv.FromGo(L, list))
	L.Push(opts)
	if err := L.PCall(2, 1, nil); err != nil {
		return luavm.WithCtxErr(ctx, errs.NormalizeLuaError(plugin, "import", err))
	}
	out, _ := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if out == nil {
		return fmt.Errorf("import must return {created, updated, skipped, errors}")
	}
	num := func(k string) int { n, _ := out.RawGetString(k).(lua.LNumber); return int(n) }
	res.Created, res.Updated, res.Skipped = num("created"), num("updated"), num("skipped")
	if errs, ok := out.RawGetString("errors").(*lua.LTable); ok {
		for i := 1; i <= errs.Len(); i++ {
			t, _ := errs.RawGetInt(i).(*lua.LTable)
			if t == nil {
				continue
			}
			row, _ := t.RawGetString("row").(lua.LNumber)
			res.Errors = append(res.Errors, admin.RowError{Row: int(row), Error: t.RawGetString("error").String()})
		}
	}
	return nil
}
