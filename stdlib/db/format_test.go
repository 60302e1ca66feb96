package db

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// checkAgainstPostgres has PostgreSQL cast each input to typ and send it
// both in binary (decoded with format) and as its own text output, which
// format must reproduce exactly.
func checkAgainstPostgres(t *testing.T, typ string, inputs []string, format func([]byte) (string, error)) {
	t.Helper()
	pool := newPool(t)
	sql := fmt.Sprintf("select v::%[1]s, v::%[1]s::text from unnest($1::text[]) v", typ)
	rows, err := pool.Query(t.Context(), sql, pgx.QueryResultFormats{pgtype.BinaryFormatCode, pgtype.TextFormatCode}, inputs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		raw := rows.RawValues()
		got, err := format(raw[0])
		if want := string(raw[1]); got != want || err != nil {
			t.Errorf("%s %q: got %q, %v; want %q", typ, inputs[n], got, err, want)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(inputs) {
		t.Fatalf("%d rows for %d inputs", n, len(inputs))
	}
}

func TestFormatNumeric(t *testing.T) {
	inputs := []string{
		"0", "1", "-1", "0.1", "0.0001", "0.00001", "12.50", "10000", "100000000", "9999.9999",
		"99999999.99999999", "-0.000000000000000000001", "1e100", "1.5e-50", "0.000", "-12345.678900",
		"123456789012345678901234567890.123456789012345678901234567890", "NaN", "Infinity", "-Infinity",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteByte('-')
		}
		b.WriteString(fmt.Sprint(r.Int64N(1 << r.IntN(62))))
		if scale := r.IntN(25); scale > 0 {
			b.WriteByte('.')
			for range scale {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		}
		inputs = append(inputs, b.String())
	}
	checkAgainstPostgres(t, "numeric", inputs, formatNumeric)
}

func TestFormatInterval(t *testing.T) {
	inputs := []string{
		"0", "1 microsecond", "-1 microsecond", "1 year", "2 years", "1 mon", "-1 mon", "13 mons", "-13 mons",
		"1 day", "-1 day", "1 day -1 hour", "-1 day +1 hour", "1 year -2 mons 3 days -04:05:06.789",
		"100 hours", "-100 hours 0.5 seconds", "1 mon -1 day", "-1 mon 1 day", "00:00:00.1", "23:59:59.999999",
		"1 year 1 day", "-1 year -1 day -1 sec",
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		inputs = append(inputs, fmt.Sprintf("%d mons %d days %d microseconds",
			r.IntN(4000)-2000, r.IntN(800)-400, r.Int64N(1<<42)-1<<41))
	}
	checkAgainstPostgres(t, "interval", inputs, func(src []byte) (string, error) {
		v, err := decodeInterval(nil, 0, src)
		if err != nil {
			return "", err
		}
		return v.String(), nil
	})
}

func TestFormatTimeAndDate(t *testing.T) {
	times := []string{"00:00:00", "00:00:00.000001", "12:34:56.5", "23:59:59.999999", "24:00:00", "07:08:09.12"}
	dates := []string{"2000-01-01", "1999-12-31", "2026-11-26", "1970-01-01", "0001-01-01", "0001-12-31 BC",
		"0044-03-15 BC", "4713-01-01 BC", "9999-12-31", "infinity", "-infinity"}
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		times = append(times, fmt.Sprintf("%02d:%02d:%02d.%06d", r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000000)))
		dates = append(dates, fmt.Sprintf("%04d-%02d-%02d", 1+r.IntN(9999), 1+r.IntN(12), 1+r.IntN(28)))
	}
	checkAgainstPostgres(t, "time", times, func(src []byte) (string, error) {
		v, err := decodeTime(nil, 0, src)
		if err != nil {
			return "", err
		}
		return v.String(), nil
	})
	checkAgainstPostgres(t, "date", dates, func(src []byte) (string, error) {
		v, err := decodeDate(nil, 0, src)
		if err != nil {
			return "", err
		}
		return v.String(), nil
	})
}

func TestFormatNumeric_malformed(t *testing.T) {
	for _, src := range [][]byte{
		nil,
		{0, 1, 0, 0, 0, 0, 0, 0},             // one digit announced, none sent
		{0, 0, 0, 0, 0x12, 0x34, 0, 0},       // unknown sign
		{0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, // negative digit count
	} {
		if s, err := formatNumeric(src); err == nil {
			t.Errorf("formatNumeric(%v) = %q, want an error", src, s)
		}
	}
}
