package luaconv

import (
	"encoding/json"
	"testing"
)

func benchmarkAppendJSON(b *testing.B, chunk string) {
	L := newState(b)
	v := eval(b, L, chunk)
	buf, err := AppendJSON(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = AppendJSON(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

const (
	smallChunk  = `return {message = "hello", name = "world", n = 1}`
	nestedChunk = `return {
		user = {id = 42, name = "Ada Lovelace", email = "ada@example.com", roles = {"admin", "subscriber"}},
		items = {
			{id = 1, title = "The Fool", price = 9.99, tags = {"major", "zero"}},
			{id = 2, title = "The Magician", price = 12.5, tags = {"major"}},
			{id = 3, title = "The High Priestess", price = 0, tags = json_array()},
		},
		total = 22.49, page = {number = 1, size = 20, more = false}, note = json_null,
	}`
)

func BenchmarkAppendJSON(b *testing.B) {
	b.Run("small", func(b *testing.B) { benchmarkAppendJSON(b, smallChunk) })
	b.Run("nested", func(b *testing.B) { benchmarkAppendJSON(b, nestedChunk) })
}

// BenchmarkEncodingJSON is the baseline AppendJSON replaces: ToGo then
// encoding/json.
func BenchmarkEncodingJSON(b *testing.B) {
	for _, bc := range []struct{ name, chunk string }{{"small", smallChunk}, {"nested", nestedChunk}} {
		b.Run(bc.name, func(b *testing.B) {
			L := newState(b)
			v := eval(b, L, bc.chunk)
			b.ReportAllocs()
			for b.Loop() {
				g, err := ToGo(v)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(g); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	L := newState(b)
	data, err := AppendJSON(nil, eval(b, L, nestedChunk))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSON(L, data); err != nil {
			b.Fatal(err)
		}
	}
}
