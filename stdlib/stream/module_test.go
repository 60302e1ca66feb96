package stream

import (
	"context"
	"testing"

	"github.com/vbwd-platform/vbwd-engine/internal/luatest"
)

type recorder struct{ got []string }

func (r *recorder) Publish(_ context.Context, channel, event, id, data string) error {
	r.got = append(r.got, channel+"|"+event+"|"+id+"|"+data)
	return nil
}

func TestExports(t *testing.T) { luatest.CheckExports(t, New(nil, "p"), "publish") }

func TestPublish(t *testing.T) {
	rec := &recorder{}
	L := luatest.NewState(t, New(rec, "chat"))
	err := L.DoString(`local s = require("vbwd.stream")
		assert(s.publish("chat.room.1", "hello"))
		assert(s.publish("chat.room.1", { text = "hi" }, "message", "7"))
		local ok, err = pcall(s.publish, "other.room", "x")
		assert(not ok and tostring(err):find("must be chat"), tostring(err))`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"chat.room.1|||hello", `chat.room.1|message|7|{"text":"hi"}`}
	if len(rec.got) != 2 || rec.got[0] != want[0] || rec.got[1] != want[1] {
		t.Errorf("published %q", rec.got)
	}
}
