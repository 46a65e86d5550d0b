package engine

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	cueast "cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// Facts files are large machine-written JSON, mostly sample series. Validating one the way
// a runbook is validated (JSON to a CUE syntax tree, then to a CUE value) costs more than
// everything else a decision does. A file that is well-formed JSON without repeated keys is
// therefore read here, in one pass, straight into the Go values CUE encodes; only a file
// that #Facts rejects goes the long way, for its located error messages.

// maxJSONDepth bounds the recursion of decodeJSON; deeper files take the long way.
const maxJSONDepth = 512

// jsonDecoder reads JSON into map[string]any, []any, string, bool, nil and, for numbers,
// int64 (an integer literal that fits) or a CUE number literal (any other number), so that
// CUE sees exactly the number kind and value the JSON spells. It gives up (ok false) on
// anything it does not take as encoding/json and CUE both would: syntax errors, repeated
// keys, invalid UTF-8, escaped surrogates.
type jsonDecoder struct {
	data []byte
	pos  int
	ok   bool
}

func decodeJSON(data []byte) (any, bool) {
	d := &jsonDecoder{data: data, ok: true}
	v := d.value(0)
	d.space()
	if !d.ok || d.pos != len(d.data) {
		return nil, false
	}
	return v, true
}

func (d *jsonDecoder) fail() any {
	d.ok = false
	return nil
}

func (d *jsonDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value(depth int) any {
	d.space()
	if !d.ok || d.pos >= len(d.data) || depth > maxJSONDepth {
		return d.fail()
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		s, ok := d.str()
		if !ok {
			return d.fail()
		}
		return s
	case c == 't':
		return d.literal("true", true)
	case c == 'f':
		return d.literal("false", false)
	case c == 'n':
		return d.literal("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.fail()
}

func (d *jsonDecoder) literal(word string, v any) any {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.fail()
	}
	d.pos += len(word)
	return v
}

func (d *jsonDecoder) object(depth int) any {
	d.pos++ // {
	m := map[string]any{}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m
	}
	for d.ok {
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.fail()
		}
		k, ok := d.str()
		if !ok {
			return d.fail()
		}
		if _, dup := m[k]; dup {
			return d.fail()
		}
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return d.fail()
		}
		d.pos++
		m[k] = d.value(depth + 1)
		d.space()
		if d.pos >= len(d.data) {
			return d.fail()
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m
		default:
			return d.fail()
		}
	}
	return nil
}

func (d *jsonDecoder) array(depth int) any {
	d.pos++ // [
	a := []any{}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return a
	}
	for d.ok {
		a = append(a, d.value(depth+1))
		d.space()
		if d.pos >= len(d.data) {
			return d.fail()
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return a
		default:
			return d.fail()
		}
	}
	return nil
}

// str reads a string token; escapes are decoded by encoding/json itself.
func (d *jsonDecoder) str() (string, bool) {
	start := d.pos
	d.pos++ // "
	escaped := false
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			raw := d.data[start+1 : d.pos-1]
			if !escaped {
				if !utf8.Valid(raw) {
					return "", false
				}
				return string(raw), true
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.pos], &s); err != nil || !utf8.Valid(raw) {
				return "", false
			}
			return s, true
		case c == '\\':
			escaped = true
			if d.pos+1 >= len(d.data) {
				return "", false
			}
			// \uD800-\uDFFF: encoding/json and CUE may not agree on surrogates.
			if d.data[d.pos+1] == 'u' && d.pos+2 < len(d.data) && (d.data[d.pos+2] == 'd' || d.data[d.pos+2] == 'D') {
				return "", false
			}
			d.pos += 2
		case c < 0x20:
			return "", false
		default:
			d.pos++
		}
	}
	return "", false
}

// number reads a number token as JSON defines it.
func (d *jsonDecoder) number() any {
	start := d.pos
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.data[d.pos] == '-' {
		d.pos++
	}
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		return d.fail()
	}
	integer := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		integer = false
		d.pos++
		if digits() == 0 {
			return d.fail()
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		integer = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return d.fail()
		}
	}
	lit := string(d.data[start:d.pos])
	if integer && lit != "-0" { // -0 is a float's business: keep its sign
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return i
		}
		return &cueast.BasicLit{Kind: token.INT, Value: lit}
	}
	return &cueast.BasicLit{Kind: token.FLOAT, Value: lit}
}

// jsonFloats turns the numbers of decoded JSON (json.Number, or int64 and CUE literals
// from decodeJSON) into float64, in place, and reports false when one does not fit a
// double.
func jsonFloats(v any) (any, bool) {
	switch x := v.(type) {
	case json.Number:
		return parseDouble(string(x))
	case int64:
		return float64(x), true
	case *cueast.BasicLit:
		return parseDouble(x.Value)
	case map[string]any:
		for k, e := range x {
			f, ok := jsonFloats(e)
			if !ok {
				return nil, false
			}
			x[k] = f
		}
	case []any:
		for i, e := range x {
			f, ok := jsonFloats(e)
			if !ok {
				return nil, false
			}
			x[i] = f
		}
	}
	return v, true
}

func parseDouble(s string) (any, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false
	}
	return f, true
}
