package engine

import (
	"os"
	"testing"
)

// BenchmarkParseFacts measures validating one facts body through a Validator, as serve and
// evaluate do: the schemas are compiled once, outside the loop.
func BenchmarkParseFacts(b *testing.B) {
	for _, bc := range []struct{ name, file string }{
		{"window-107KB", "../testdata/example/scenarios/healthy__window.json"},
		{"pre-cutover-3KB", "../testdata/example/scenarios/healthy__pre-cutover.json"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data, err := os.ReadFile(bc.file)
			if err != nil {
				b.Fatal(err)
			}
			vd := NewValidator()
			if _, err := vd.ParseFacts(bc.file, data); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := vd.ParseFacts(bc.file, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
