package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DecodeJSON decodes one JSON value with numbers kept as json.Number, rejecting trailing data.
func DecodeJSON(body []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("invalid JSON: empty body")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("invalid JSON: unexpected end of input (truncated?)")
		}
		return nil, fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := AtEOF(d); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return v, nil
}

// ParsePath splits a JSON path: dot-separated keys ("build.git.sha"), with array indexes
// as numeric segments ("builds.0.sha") or in brackets ("builds[0].sha"); a leading "$." or
// "." is ignored. Keys containing dots or brackets cannot be addressed.
func ParsePath(path string) ([]string, error) {
	p := strings.TrimSpace(path)
	p = strings.TrimPrefix(p, "$")
	p = strings.TrimPrefix(p, ".")
	if p == "" {
		return nil, fmt.Errorf("empty JSON path %q", path)
	}
	p = strings.ReplaceAll(p, "[", ".[")
	var segs []string
	for s := range strings.SplitSeq(p, ".") {
		if strings.HasPrefix(s, "[") {
			if !strings.HasSuffix(s, "]") {
				return nil, fmt.Errorf("JSON path %q: unbalanced bracket", path)
			}
			s = s[1 : len(s)-1]
			if _, err := strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("JSON path %q: [%s] is not an array index", path, s)
			}
		}
		if s == "" {
			return nil, fmt.Errorf("JSON path %q has an empty segment", path)
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// ErrNotFound is wrapped by Lookup when the path does not exist in the document.
var ErrNotFound = errors.New("not found")

// Lookup returns the value at path in a decoded JSON document.
func Lookup(doc any, path string) (any, error) {
	segs, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	cur := doc
	for i, s := range segs {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[s]
			if !ok {
				return nil, fmt.Errorf("%s: key %q: %w", path, strings.Join(segs[:i+1], "."), ErrNotFound)
			}
			cur = v
		case []any:
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n >= len(x) {
				return nil, fmt.Errorf("%s: index %q of an array of %d: %w", path, s, len(x), ErrNotFound)
			}
			cur = x[n]
		default:
			return nil, fmt.Errorf("%s: %q is inside %s, not an object or array: %w", path, strings.Join(segs[:i+1], "."), AnType(cur), ErrNotFound)
		}
	}
	return cur, nil
}

// LookupString returns the string at path; found is false when the path does not exist,
// and a value that exists but is not a non-empty string is an error.
func LookupString(doc any, path string) (value string, found bool, err error) {
	v, err := Lookup(doc, path)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	s, ok := v.(string)
	if !ok {
		return "", true, fmt.Errorf("%s is %s, not a string", path, AnType(v))
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true, fmt.Errorf("%s is an empty string", path)
	}
	return s, true, nil
}

// TypeName names a decoded JSON value's type for messages.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// AtEOF returns an error unless the decoder has consumed its whole input (white space aside).
func AtEOF(d *json.Decoder) error {
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the top-level value")
	}
	return nil
}

// AnType is TypeName with its indefinite article: "an object", "a number".
func AnType(v any) string {
	n := TypeName(v)
	if strings.ContainsRune("aeiou", rune(n[0])) {
		return "an " + n
	}
	return "a " + n
}
