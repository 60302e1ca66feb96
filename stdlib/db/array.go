package db

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// maxArrayDims is PostgreSQL's MAXDIM.
const maxArrayDims = 6

var errArray = errors.New("malformed array")

// decodeArray reads PostgreSQL's binary array format: the number of
// dimensions, a flags word, the element type OID, then a length and a lower
// bound per dimension, then each element as a length (-1 for NULL) and its
// bytes in row-major order. Lua arrays start at 1 whatever the lower bound;
// a multi-dimensional array becomes nested arrays.
func decodeArray(s *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) < 12 {
		return nil, errArray
	}
	ndim := int32(binary.BigEndian.Uint32(src))
	elemOID := binary.BigEndian.Uint32(src[8:])
	if ndim == 0 {
		return luaconv.MarkArray(s.L.CreateTable(0, 0)), nil
	}
	if ndim < 0 || ndim > maxArrayDims || len(src) < 12+8*int(ndim) {
		return nil, errArray
	}
	var dims [maxArrayDims]int
	for i := range int(ndim) {
		n := int32(binary.BigEndian.Uint32(src[12+8*i:]))
		if n < 0 {
			return nil, errArray
		}
		dims[i] = int(n)
	}
	a := binArray{s: s, oid: elemOID, dec: s.decoder(elemOID, pgtype.BinaryFormatCode), rest: src[12+8*int(ndim):]}
	t, err := a.read(dims[:ndim])
	if err == nil && len(a.rest) != 0 {
		err = errArray
	}
	return t, err
}

// binArray is the element reader of one binary array.
type binArray struct {
	s    *scanner
	oid  uint32
	dec  decodeFunc
	rest []byte
}

// read reads the elements of one sub-array of dimensions dims.
func (a *binArray) read(dims []int) (*lua.LTable, error) {
	if dims[0] > len(a.rest) { // each element takes at least 4 bytes
		return nil, errArray
	}
	t := a.s.L.CreateTable(dims[0], 0)
	for i := 1; i <= dims[0]; i++ {
		var v lua.LValue
		var err error
		if len(dims) > 1 {
			v, err = a.read(dims[1:])
		} else {
			v, err = a.element()
		}
		if err != nil {
			return nil, err
		}
		t.RawSetInt(i, v)
	}
	return luaconv.MarkArray(t), nil
}

func (a *binArray) element() (lua.LValue, error) {
	if len(a.rest) < 4 {
		return nil, errArray
	}
	n := int32(binary.BigEndian.Uint32(a.rest))
	a.rest = a.rest[4:]
	if n == -1 {
		return luaconv.Null, nil
	}
	if n < 0 || int(n) > len(a.rest) {
		return nil, errArray
	}
	src := a.rest[:n:n]
	a.rest = a.rest[n:]
	return a.dec(a.s, a.oid, src)
}

// textArray parses PostgreSQL's text array format ({a,"b c",NULL,{1,2}},
// optionally preceded by explicit bounds like [0:1]=), decoding each
// element with the text decoder of the element type.
func textArray(s *scanner, oid uint32, src []byte) (lua.LValue, error) {
	ac, _ := s.arrayCodec(oid)
	p := textArrayParser{s: s, src: src, delim: ','}
	if ac.Delimiter != 0 {
		p.delim = ac.Delimiter
	}
	p.oid = ac.ElementType.OID
	p.dec = s.textDecoder(p.oid)
	if len(src) > 0 && src[0] == '[' {
		for p.pos < len(src) && src[p.pos] != '=' {
			p.pos++
		}
		p.pos++
	}
	t, err := p.array(0)
	if err == nil && p.pos != len(src) {
		err = errArray
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, src)
	}
	return t, nil
}

type textArrayParser struct {
	s     *scanner
	src   []byte
	pos   int
	delim byte
	oid   uint32
	dec   decodeFunc
	buf   []byte
}

func (p *textArrayParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// array parses {elem, ...} at p.pos.
func (p *textArrayParser) array(depth int) (*lua.LTable, error) {
	if p.peek() != '{' || depth >= maxArrayDims {
		return nil, errArray
	}
	p.pos++
	t := luaconv.MarkArray(p.s.L.CreateTable(0, 0))
	if p.peek() == '}' {
		p.pos++
		return t, nil
	}
	for n := 1; ; n++ {
		var v lua.LValue
		var err error
		if p.peek() == '{' {
			v, err = p.array(depth + 1)
		} else {
			v, err = p.element()
		}
		if err != nil {
			return nil, err
		}
		t.RawSetInt(n, v)
		switch p.peek() {
		case p.delim:
			p.pos++
		case '}':
			p.pos++
			return t, nil
		default:
			return nil, errArray
		}
	}
}

// element parses one quoted or unquoted element.
func (p *textArrayParser) element() (lua.LValue, error) {
	p.buf = p.buf[:0]
	if p.peek() == '"' {
		p.pos++
		for {
			if p.pos >= len(p.src) {
				return nil, errArray
			}
			c := p.src[p.pos]
			p.pos++
			if c == '"' {
				break
			}
			if c == '\\' && p.pos < len(p.src) {
				c = p.src[p.pos]
				p.pos++
			}
			p.buf = append(p.buf, c)
		}
		return p.dec(p.s, p.oid, p.buf)
	}
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != p.delim && p.src[p.pos] != '}' {
		p.pos++
	}
	word := p.src[start:p.pos]
	if len(word) == 0 {
		return nil, errArray
	}
	if bytes.EqualFold(word, []byte("NULL")) {
		return luaconv.Null, nil
	}
	return p.dec(p.s, p.oid, word)
}

// parseByteaText decodes bytea's text output: hex (\x0102...) or, with
// bytea_output = escape, the escape format (\\ and \ooo octal escapes).
func parseByteaText(src []byte) ([]byte, error) {
	if len(src) >= 2 && src[0] == '\\' && src[1] == 'x' {
		if len(src)%2 != 0 {
			return nil, errors.New("invalid bytea hex")
		}
		out := make([]byte, (len(src)-2)/2)
		for i := range out {
			hi, ok1 := unhex(src[2+2*i])
			lo, ok2 := unhex(src[3+2*i])
			if !ok1 || !ok2 {
				return nil, errors.New("invalid bytea hex")
			}
			out[i] = hi<<4 | lo
		}
		return out, nil
	}
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		switch {
		case i+1 < len(src) && src[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(src) && isOctal(src[i+1]) && isOctal(src[i+2]) && isOctal(src[i+3]):
			out = append(out, (src[i+1]-'0')<<6|(src[i+2]-'0')<<3|(src[i+3]-'0'))
			i += 3
		default:
			return nil, errors.New("invalid bytea escape")
		}
	}
	return out, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
