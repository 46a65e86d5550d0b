package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical returns the RFC 8785 (JCS) canonical JSON encoding of v, so that
// digests of runbooks, inputs and records agree on any machine.
//
// v may hold the generic JSON types (map[string]any, []any, string, float64,
// bool, nil, json.Number) and Go integers; anything else is first converted
// through encoding/json. Numbers must be finite and, being I-JSON, exactly
// representable as IEEE 754 doubles.
func Canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return b.Bytes(), nil
}

// Digest returns "sha256:" and the hex SHA-256 of Canonical(v).
func Digest(v any) (string, error) {
	b, err := Canonical(v)
	if err != nil {
		return "", err
	}
	return DigestBytes(b), nil
}

// DigestBytes returns "sha256:" and the hex SHA-256 of b.
func DigestBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func writeCanonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		return writeString(b, x)
	case float64:
		return writeNumber(b, x)
	case float32:
		return writeNumber(b, float64(x))
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return fmt.Errorf("number %s: %w", x, err)
		}
		return writeNumber(b, f)
	case int:
		return writeInt(b, int64(x))
	case int8:
		return writeInt(b, int64(x))
	case int16:
		return writeInt(b, int64(x))
	case int32:
		return writeInt(b, int64(x))
	case int64:
		return writeInt(b, x)
	case uint:
		return writeUint(b, uint64(x))
	case uint8:
		return writeUint(b, uint64(x))
	case uint16:
		return writeUint(b, uint64(x))
	case uint32:
		return writeUint(b, uint64(x))
	case uint64:
		return writeUint(b, x)
	case map[string]any:
		return writeObject(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		return writeVia(b, v)
	}
	return nil
}

// writeVia canonicalises values of other Go types (structs, typed maps and
// slices) through their encoding/json form, so callers can digest their own
// types without building generic maps first.
func writeVia(b *bytes.Buffer, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		b.WriteString("null")
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var g any
	if err := d.Decode(&g); err != nil {
		return err
	}
	return writeCanonical(b, g)
}

func writeObject(b *bytes.Buffer, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// RFC 8785 §3.2.3: keys sort by their UTF-16 code units, which differs
	// from Go's byte order for characters above U+FFFF versus U+E000..U+FFFF.
	slices.SortFunc(keys, compareUTF16)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeString(b, k); err != nil {
			return err
		}
		b.WriteByte(':')
		if err := writeCanonical(b, m[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	b.WriteByte('}')
	return nil
}

func compareUTF16(a, b string) int {
	ua := utf16.Encode([]rune(a))
	ub := utf16.Encode([]rune(b))
	return slices.Compare(ua, ub)
}

func writeString(b *bytes.Buffer, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("string %q is not valid UTF-8", s)
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return nil
}

// maxSafe bounds the integers that a double holds exactly; beyond it two
// different inputs could share one canonical form.
const maxSafe = 1 << 53

func writeInt(b *bytes.Buffer, i int64) error {
	if i > maxSafe || i < -maxSafe {
		return fmt.Errorf("integer %d is not exactly representable as a JSON number", i)
	}
	return writeNumber(b, float64(i))
}

func writeUint(b *bytes.Buffer, u uint64) error {
	if u > maxSafe {
		return fmt.Errorf("integer %d is not exactly representable as a JSON number", u)
	}
	return writeNumber(b, float64(u))
}

func writeNumber(b *bytes.Buffer, f float64) error {
	s, err := formatNumber(f)
	if err != nil {
		return err
	}
	b.WriteString(s)
	return nil
}

// formatNumber implements ECMAScript's Number.prototype.toString, which
// RFC 8785 §3.2.2.3 adopts: the shortest round-tripping digits, in plain
// notation for decimal exponents -6 < n <= 21 and in exponent notation
// otherwise.
func formatNumber(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("number %v is not valid JSON", f)
	}
	if f == 0 {
		return "0", nil // also for -0
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	// 'e' with precision -1 gives the shortest digits d.ddde±x.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, err := strconv.Atoi(exp)
	if err != nil {
		return "", fmt.Errorf("number %v: %w", f, err)
	}
	k := len(digits)
	n := x + 1 // the decimal point sits after n digits
	var s string
	switch {
	case k <= n && n <= 21:
		s = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		s = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		s = "0." + strings.Repeat("0", -n) + digits
	default:
		es := "+"
		if n-1 < 0 {
			es = "-"
		}
		ev := strconv.Itoa(abs(n - 1))
		if k == 1 {
			s = digits + "e" + es + ev
		} else {
			s = digits[:1] + "." + digits[1:] + "e" + es + ev
		}
	}
	return sign + s, nil
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
