package db

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The formatters below turn PostgreSQL's binary formats into the strings
// Lua sees. numeric, interval and time follow PostgreSQL's own text output
// (IntervalStyle postgres), so a value reads the same whether it came in
// binary or as text.

// pgEpochUnix is 2000-01-01 00:00:00 UTC, the epoch of PostgreSQL's
// timestamps and dates, in Unix seconds.
const pgEpochUnix = 946684800

// localLayout formats a timestamp without time zone: RFC 3339 without the
// offset, fractional seconds only when non-zero.
const localLayout = "2006-01-02T15:04:05.999999999"

func formatUUID(src []byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], src[0:4])
	hex.Encode(buf[9:13], src[4:6])
	hex.Encode(buf[14:18], src[6:8])
	hex.Encode(buf[19:23], src[8:10])
	hex.Encode(buf[24:36], src[10:16])
	buf[8], buf[13], buf[18], buf[23] = '-', '-', '-', '-'
	return string(buf[:])
}

// formatTimestamp formats microseconds since 2000-01-01 in UTC with layout.
func formatTimestamp(micros int64, layout string) string {
	switch micros {
	case math.MaxInt64:
		return "infinity"
	case math.MinInt64:
		return "-infinity"
	}
	sec, us := micros/1e6, micros%1e6
	if us < 0 {
		sec, us = sec-1, us+1e6
	}
	return time.Unix(pgEpochUnix+sec, us*1000).UTC().Format(layout)
}

// formatDate formats days since 2000-01-01 as YYYY-MM-DD, with
// PostgreSQL's " BC" suffix for years before 1.
func formatDate(days int32) string {
	switch days {
	case math.MaxInt32:
		return "infinity"
	case math.MinInt32:
		return "-infinity"
	}
	t := time.Date(2000, 1, 1+int(days), 0, 0, 0, 0, time.UTC)
	if y, m, d := t.Date(); y <= 0 {
		return fmt.Sprintf("%04d-%02d-%02d BC", 1-y, int(m), d)
	}
	return t.Format(time.DateOnly)
}

// appendClock appends a non-negative duration in microseconds as
// HH:MM:SS, with the fraction of a second only when non-zero and without
// trailing zeros (hours may exceed 24 for intervals).
func appendClock(b []byte, micros uint64) []byte {
	h, rem := micros/3600e6, micros%3600e6
	m, rem := rem/60e6, rem%60e6
	s, frac := rem/1e6, rem%1e6
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, m, 2)
	b = append(b, ':')
	b = appendPadded(b, s, 2)
	if frac != 0 {
		b = append(b, '.')
		start := len(b)
		b = appendPadded(b, frac, 6)
		for b[len(b)-1] == '0' && len(b) > start {
			b = b[:len(b)-1]
		}
	}
	return b
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var digits [20]byte
	s := strconv.AppendUint(digits[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// formatInterval formats an interval as PostgreSQL does with the default
// IntervalStyle (postgres): "1 year 2 mons -3 days +04:05:06.5".
func formatInterval(micros int64, days, months int32) string {
	switch {
	case micros == math.MaxInt64 && days == math.MaxInt32 && months == math.MaxInt32:
		return "infinity"
	case micros == math.MinInt64 && days == math.MinInt32 && months == math.MinInt32:
		return "-infinity"
	}
	b := make([]byte, 0, 32)
	zero, before := true, false
	// As PostgreSQL's AddPostgresIntPart: a field after a negative one gets
	// an explicit + sign.
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !zero {
			b = append(b, ' ')
		}
		if before && v > 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ' ')
		b = append(b, unit...)
		if v != 1 {
			b = append(b, 's')
		}
		before, zero = v < 0, false
	}
	part(int64(months/12), "year")
	part(int64(months%12), "mon")
	part(int64(days), "day")
	if zero || micros != 0 {
		if !zero {
			b = append(b, ' ')
		}
		abs := uint64(micros)
		switch {
		case micros < 0:
			b = append(b, '-')
			abs = -abs
		case before:
			b = append(b, '+')
		}
		b = appendClock(b, abs)
	}
	return string(b)
}

// Sign words of numeric's binary format.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

var errNumeric = errors.New("malformed numeric")

// formatNumeric formats numeric's binary format (number of base-10000
// digits, weight of the first digit, sign, display scale, digits) as
// PostgreSQL's numeric_out does: exact, with exactly dscale decimals.
func formatNumeric(src []byte) (string, error) {
	if len(src) < 8 {
		return "", errNumeric
	}
	ndigits := int(int16(binary.BigEndian.Uint16(src)))
	weight := int(int16(binary.BigEndian.Uint16(src[2:])))
	sign := binary.BigEndian.Uint16(src[4:])
	dscale := int(binary.BigEndian.Uint16(src[6:]))
	if ndigits < 0 || len(src) != 8+2*ndigits || dscale > 0x3FFF {
		return "", errNumeric
	}
	switch sign {
	case numericNaN:
		return "NaN", nil
	case numericPInf:
		return "Infinity", nil
	case numericNInf:
		return "-Infinity", nil
	case numericPos, numericNeg:
	default:
		return "", errNumeric
	}
	digit := func(i int) uint64 {
		if i < 0 || i >= ndigits {
			return 0
		}
		return uint64(binary.BigEndian.Uint16(src[8+2*i:]))
	}
	b := make([]byte, 0, 4*(max(weight, 0)+1)+dscale+6)
	if sign == numericNeg {
		b = append(b, '-')
	}
	if weight < 0 {
		b = append(b, '0')
	}
	for d := 0; d <= weight; d++ {
		if d == 0 {
			b = strconv.AppendUint(b, digit(d), 10)
		} else {
			b = appendPadded(b, digit(d), 4)
		}
	}
	if dscale > 0 {
		b = append(b, '.')
		end := len(b) + dscale
		for d := weight + 1; len(b) < end; d++ {
			b = appendPadded(b, digit(d), 4)
		}
		b = b[:end]
	}
	return string(b), nil
}
