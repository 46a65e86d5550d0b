package engine

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
func TestCanonicalNumbersRFC8785AppendixB(t *testing.T) {
	tests := []struct {
		name string
		bits string
		want string
	}{
		{name: "zero", bits: "0000000000000000", want: "0"},
		{name: "minus zero", bits: "8000000000000000", want: "0"},
		{name: "min pos", bits: "0000000000000001", want: "5e-324"},
		{name: "min neg", bits: "8000000000000001", want: "-5e-324"},
		{name: "max pos", bits: "7fefffffffffffff", want: "1.7976931348623157e+308"},
		{name: "max neg", bits: "ffefffffffffffff", want: "-1.7976931348623157e+308"},
		{name: "max pos int", bits: "4340000000000000", want: "9007199254740992"},
		{name: "max neg int", bits: "c340000000000000", want: "-9007199254740992"},
		{name: "2^68", bits: "4430000000000000", want: "295147905179352830000"},
		{name: "below 1e23", bits: "44b52d02c7e14af5", want: "9.999999999999997e+22"},
		{name: "1e23", bits: "44b52d02c7e14af6", want: "1e+23"},
		{name: "above 1e23", bits: "44b52d02c7e14af7", want: "1.0000000000000001e+23"},
		{name: "below 1e21 a", bits: "444b1ae4d6e2ef4e", want: "999999999999999700000"},
		{name: "below 1e21 b", bits: "444b1ae4d6e2ef4f", want: "999999999999999900000"},
		{name: "1e21", bits: "444b1ae4d6e2ef50", want: "1e+21"},
		{name: "below 1e-6", bits: "3eb0c6f7a0b5ed8c", want: "9.999999999999997e-7"},
		{name: "1e-6", bits: "3eb0c6f7a0b5ed8d", want: "0.000001"},
		{name: "third a", bits: "41b3de4355555553", want: "333333333.3333332"},
		{name: "third b", bits: "41b3de4355555554", want: "333333333.33333325"},
		{name: "third c", bits: "41b3de4355555555", want: "333333333.3333333"},
		{name: "third d", bits: "41b3de4355555556", want: "333333333.3333334"},
		{name: "third e", bits: "41b3de4355555557", want: "333333333.33333343"},
		{name: "small negative", bits: "becbf647612f3696", want: "-0.0000033333333333333333"},
		{name: "large fraction", bits: "43143ff3c1cb0959", want: "1424953923781206.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := strconv.ParseUint(tt.bits, 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Canonical(math.Float64frombits(u))
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		name  string
		input string // JSON, decoded with UseNumber
		value any    // used when input is empty
		want  string
	}{
		{
			// RFC 8785 §3.2.2 example.
			name: "rfc 8785 sample",
			input: `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			// RFC 8785 §3.2.3: sorting by UTF-16 code units.
			name: "rfc 8785 sorting",
			input: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{
			name:  "nested and empty",
			input: `{"b":[],"a":{"d":{},"c":[1,2.0,-0.0]}}`,
			want:  `{"a":{"c":[1,2,0],"d":{}},"b":[]}`,
		},
		{
			name:  "control characters and html are not escaped beyond the spec",
			input: `"<a&b>\u007f\u2028\u0001\t"`,
			want:  "\"<a&b>\u007f\u2028\\u0001\\t\"",
		},
		{
			name:  "go integers and typed values",
			value: map[string]any{"n": 42, "u": uint8(7), "s": []string{"x"}, "m": map[string]int{"k": 1}},
			want:  `{"m":{"k":1},"n":42,"s":["x"],"u":7}`,
		},
		{
			name: "structs go through encoding/json",
			value: struct {
				B string  `json:"b"`
				A float64 `json:"a"`
			}{B: "x", A: 0.1},
			want: `{"a":0.1,"b":"x"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.value
			if tt.input != "" {
				d := json.NewDecoder(strings.NewReader(tt.input))
				d.UseNumber()
				if err := d.Decode(&v); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Canonical(v)
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCanonicalRejects(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{name: "NaN", value: math.NaN()},
		{name: "+Inf", value: math.Inf(1)},
		{name: "nested -Inf", value: map[string]any{"a": []any{math.Inf(-1)}}},
		{name: "unsafe integer", value: int64(1<<53 + 1)},
		{name: "invalid utf-8", value: "\xff"},
		{name: "overflowing json.Number", value: json.Number("1e400")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := Canonical(tt.value); err == nil {
				t.Errorf("Canonical(%v) = %s, want an error", tt.value, b)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	tests := []struct {
		name string
		a, b any
	}{
		{name: "key order does not matter", a: map[string]any{"a": 1.0, "b": "x"}, b: map[string]any{"b": "x", "a": 1}},
		{name: "number spelling does not matter", a: []any{json.Number("1.0e2")}, b: []any{100.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			da, err := Digest(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			db, err := Digest(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if da != db {
				t.Errorf("digests differ: %s vs %s", da, db)
			}
			if !strings.HasPrefix(da, "sha256:") || len(da) != len("sha256:")+64 {
				t.Errorf("malformed digest %q", da)
			}
		})
	}
	// Known answer: SHA-256 of "{}".
	if got, want := DigestBytes([]byte("{}")), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"; got != want {
		t.Errorf("DigestBytes({}) = %s, want %s", got, want)
	}
}
