package events_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/stdlib/events"
)

// printBus prints what it is asked; the engine's bus runs handlers and
// writes the outbox instead.
type printBus struct{}

func (printBus) Emit(_ context.Context, source, name string, payload any) events.Summary {
	fmt.Println("emit", source, name, payload)
	return events.Summary{Delivered: 1}
}

func (printBus) Publish(_ context.Context, tx pgx.Tx, source, name string, payload []byte) (string, func(), error) {
	fmt.Println("publish", source, name, string(payload), "in tx:", tx != nil)
	return "6f1c0d52-3b8e-4d3a-8f0e-2c9b1e7a5d44", nil, nil
}

func Example() {
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("vbwd.events", events.New(printBus{}, events.Options{Plugin: "tarot"}).Loader)
	if err := L.DoString(`
		local events = require("vbwd.events")
		local s = events.emit("tarot.card_drawn", { card = "The Fool" })
		print("delivered", s.delivered, "failed", #s.failed)
		print("id", events.publish("tarot.reading_saved", { id = 7 }))
	`); err != nil {
		panic(err)
	}
	// Output:
	// emit tarot tarot.card_drawn map[card:The Fool]
	// delivered	1	failed	0
	// publish tarot tarot.reading_saved {"id":7} in tx: false
	// id	6f1c0d52-3b8e-4d3a-8f0e-2c9b1e7a5d44
}
