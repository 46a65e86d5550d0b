package schemas

import (
	"io/fs"
	"testing"
)

func TestFS(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{name: "runbook schema", file: "runbook.cue"},
		{name: "facts schema", file: "facts.cue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := fs.ReadFile(FS, tt.file)
			if err != nil || len(b) == 0 {
				t.Errorf("%s not embedded: %v", tt.file, err)
			}
		})
	}
}
