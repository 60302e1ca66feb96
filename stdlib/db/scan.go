package db

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	lua "github.com/yuin/gopher-lua"

	"github.com/vbwd-platform/vbwd-engine/internal/luaconv"
)

// Results are read from rows.RawValues: each column gets a decodeFunc,
// chosen once per result from its type OID and format, that turns the wire
// bytes straight into a Lua value, without going through pgx's Go values
// (rows.Values would allocate a Go value per column and a []any per row).
// Types this file does not decode come as text (see resultFormats) and stay
// the text PostgreSQL sent.

// resultFormats asks PostgreSQL for the binary format of the types decoded
// from it below, and for the text format of every other type (unlisted OIDs
// map to 0, text): pgx would otherwise ask for binary for every type it
// knows (ranges, records, geometric types...), whose text form is what Lua
// gets. Binary keeps timestamps, dates and intervals independent of the
// session's TimeZone, DateStyle and IntervalStyle. It is passed as the first
// query argument (pgx.QueryResultFormatsByOID) and never modified.
var resultFormats = func() pgx.QueryResultFormatsByOID {
	m := pgx.QueryResultFormatsByOID{}
	for _, oid := range []uint32{
		pgtype.BoolOID, pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID,
		pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID, pgtype.UUIDOID, pgtype.ByteaOID,
		pgtype.TimestamptzOID, pgtype.TimestampOID, pgtype.DateOID, pgtype.TimeOID, pgtype.IntervalOID,
		// Arrays of these and of text-like and JSON types: binary arrays
		// need no unquoting.
		pgtype.BoolArrayOID, pgtype.Int2ArrayOID, pgtype.Int4ArrayOID, pgtype.Int8ArrayOID,
		pgtype.OIDArrayOID, pgtype.Float4ArrayOID, pgtype.Float8ArrayOID, pgtype.NumericArrayOID,
		pgtype.UUIDArrayOID, pgtype.ByteaArrayOID, pgtype.TimestamptzArrayOID, pgtype.TimestampArrayOID,
		pgtype.DateArrayOID, pgtype.TimeArrayOID, pgtype.IntervalArrayOID, pgtype.TextArrayOID,
		pgtype.VarcharArrayOID, pgtype.BPCharArrayOID, pgtype.NameArrayOID, pgtype.JSONArrayOID,
		pgtype.JSONBArrayOID,
	} {
		m[oid] = pgtype.BinaryFormatCode
	}
	return m
}()

// decodeFunc converts one non-NULL value of type oid.
type decodeFunc func(s *scanner, oid uint32, src []byte) (lua.LValue, error)

// column is one result column.
type column struct {
	name string
	oid  uint32
	dec  decodeFunc
}

// scanner turns the rows of one result into Lua tables.
type scanner struct {
	L    *lua.LState
	m    *pgtype.Map
	cols []column
}

func newScanner(L *lua.LState, rows pgx.Rows) *scanner {
	s := &scanner{L: L, m: rows.Conn().TypeMap()}
	fds := rows.FieldDescriptions()
	s.cols = make([]column, len(fds))
	for i, fd := range fds {
		s.cols[i] = column{name: fd.Name, oid: fd.DataTypeOID, dec: s.decoder(fd.DataTypeOID, fd.Format)}
	}
	return s
}

// row converts the current row; NULL columns are left out of the table.
func (s *scanner) row(raw [][]byte) (*lua.LTable, error) {
	t := s.L.CreateTable(0, len(s.cols))
	for i, src := range raw {
		if src == nil {
			continue
		}
		c := &s.cols[i]
		v, err := c.dec(s, c.oid, src)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.name, err)
		}
		t.RawSetString(c.name, v)
	}
	return t, nil
}

// decoder chooses the decodeFunc of a column of type oid sent in format.
func (s *scanner) decoder(oid uint32, format int16) decodeFunc {
	if format == pgtype.TextFormatCode {
		return s.textDecoder(oid)
	}
	switch oid {
	case pgtype.BoolOID:
		return decodeBool
	case pgtype.Int2OID:
		return decodeInt2
	case pgtype.Int4OID:
		return decodeInt4
	case pgtype.Int8OID:
		return decodeInt8
	case pgtype.OIDOID:
		return decodeUint32
	case pgtype.Float4OID:
		return decodeFloat4
	case pgtype.Float8OID:
		return decodeFloat8
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.ByteaOID:
		return decodeString
	case pgtype.UUIDOID:
		return decodeUUID
	case pgtype.TimestamptzOID:
		return decodeTimestamptz
	case pgtype.TimestampOID:
		return decodeTimestamp
	case pgtype.DateOID:
		return decodeDate
	case pgtype.TimeOID:
		return decodeTime
	case pgtype.IntervalOID:
		return decodeInterval
	case pgtype.NumericOID:
		return decodeNumeric
	case pgtype.JSONOID:
		return decodeJSON
	case pgtype.JSONBOID:
		return decodeJSONB
	}
	if _, ok := s.arrayCodec(oid); ok {
		return decodeArray
	}
	return decodeBinaryUnknown
}

// textDecoder chooses the decodeFunc of a column sent as text: always the
// case for types pgx does not know (enums, citext, domains over them...),
// and for every type under the simple protocol.
func (s *scanner) textDecoder(oid uint32) decodeFunc {
	switch oid {
	case pgtype.BoolOID:
		return textBool
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID, pgtype.XIDOID, pgtype.CIDOID:
		return textInt
	case pgtype.Float4OID, pgtype.Float8OID:
		return textFloat
	case pgtype.ByteaOID:
		return textBytea
	case pgtype.JSONOID, pgtype.JSONBOID:
		return decodeJSON
	case pgtype.TimestamptzOID, pgtype.TimestampOID:
		return textTimestamp
	}
	if _, ok := s.arrayCodec(oid); ok {
		return textArray
	}
	return decodeString // numeric, uuid, date, time, interval, enums...: their text form
}

// arrayCodec returns the codec of oid if pgx knows it as an array type.
func (s *scanner) arrayCodec(oid uint32) (*pgtype.ArrayCodec, bool) {
	dt, ok := s.m.TypeForOID(oid)
	if !ok {
		return nil, false
	}
	ac, ok := dt.Codec.(*pgtype.ArrayCodec)
	return ac, ok
}

var errLength = errors.New("invalid length")

func decodeBool(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 1 {
		return nil, errLength
	}
	return lua.LBool(src[0] != 0), nil
}

func decodeInt2(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 2 {
		return nil, errLength
	}
	return lua.LNumber(int16(binary.BigEndian.Uint16(src))), nil
}

func decodeInt4(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 4 {
		return nil, errLength
	}
	return lua.LNumber(int32(binary.BigEndian.Uint32(src))), nil
}

func decodeInt8(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 8 {
		return nil, errLength
	}
	return lua.LNumber(int64(binary.BigEndian.Uint64(src))), nil
}

func decodeUint32(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 4 {
		return nil, errLength
	}
	return lua.LNumber(binary.BigEndian.Uint32(src)), nil
}

func decodeFloat4(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 4 {
		return nil, errLength
	}
	return lua.LNumber(math.Float32frombits(binary.BigEndian.Uint32(src))), nil
}

func decodeFloat8(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 8 {
		return nil, errLength
	}
	return lua.LNumber(math.Float64frombits(binary.BigEndian.Uint64(src))), nil
}

// decodeString keeps the bytes as they are: the text of text-like types
// and of any type sent as text, the raw bytes of bytea.
func decodeString(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	return lua.LString(src), nil
}

func decodeUUID(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 16 {
		return nil, errLength
	}
	return lua.LString(formatUUID(src)), nil
}

func decodeTimestamptz(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 8 {
		return nil, errLength
	}
	return lua.LString(formatTimestamp(int64(binary.BigEndian.Uint64(src)), time.RFC3339Nano)), nil
}

func decodeTimestamp(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 8 {
		return nil, errLength
	}
	return lua.LString(formatTimestamp(int64(binary.BigEndian.Uint64(src)), localLayout)), nil
}

func decodeDate(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 4 {
		return nil, errLength
	}
	return lua.LString(formatDate(int32(binary.BigEndian.Uint32(src)))), nil
}

func decodeTime(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 8 {
		return nil, errLength
	}
	return lua.LString(appendClock(nil, binary.BigEndian.Uint64(src))), nil
}

func decodeInterval(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) != 16 {
		return nil, errLength
	}
	micros := int64(binary.BigEndian.Uint64(src))
	days := int32(binary.BigEndian.Uint32(src[8:]))
	months := int32(binary.BigEndian.Uint32(src[12:]))
	return lua.LString(formatInterval(micros, days, months)), nil
}

func decodeNumeric(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	s, err := formatNumeric(src)
	if err != nil {
		return nil, err
	}
	return lua.LString(s), nil
}

func decodeJSON(s *scanner, _ uint32, src []byte) (lua.LValue, error) {
	return luaconv.DecodeJSON(s.L, src)
}

// decodeJSONB reads jsonb's binary format: a version byte, then JSON text.
func decodeJSONB(s *scanner, _ uint32, src []byte) (lua.LValue, error) {
	if len(src) == 0 || src[0] != 1 {
		return nil, errors.New("unknown jsonb format version")
	}
	return luaconv.DecodeJSON(s.L, src[1:])
}

// decodeBinaryUnknown is the decoder of a binary column of a type not
// listed in resultFormats, which pgx never asks for.
func decodeBinaryUnknown(_ *scanner, oid uint32, _ []byte) (lua.LValue, error) {
	return nil, fmt.Errorf("unexpected binary format for type OID %d", oid)
}

func textBool(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	switch string(src) {
	case "t", "true":
		return lua.LTrue, nil
	case "f", "false":
		return lua.LFalse, nil
	}
	return nil, fmt.Errorf("invalid boolean %q", src)
}

func textInt(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	n, err := strconv.ParseInt(string(src), 10, 64)
	return lua.LNumber(n), err
}

func textFloat(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	f, err := strconv.ParseFloat(string(src), 64)
	return lua.LNumber(f), err
}

func textBytea(_ *scanner, _ uint32, src []byte) (lua.LValue, error) {
	b, err := parseByteaText(src)
	return lua.LString(b), err
}

// textTimestamp parses a timestamp sent as text (in the session's time
// zone and DateStyle) with pgx, and formats it as the binary path does.
func textTimestamp(s *scanner, oid uint32, src []byte) (lua.LValue, error) {
	if str := string(src); str == "infinity" || str == "-infinity" {
		return lua.LString(str), nil
	}
	var t time.Time
	if err := s.m.Scan(oid, pgtype.TextFormatCode, src, &t); err != nil {
		return nil, err
	}
	layout := time.RFC3339Nano
	if oid == pgtype.TimestampOID {
		layout = localLayout
	}
	return lua.LString(t.UTC().Format(layout)), nil
}
