package report

import "testing"

func TestNiceStep(t *testing.T) {
	tests := []struct {
		name string
		raw  float64
		want float64
	}{
		{"error rate", 0.0146, 0.02},
		{"latency", 0.138, 0.2},
		{"exact", 0.5, 0.5},
		{"two and a half", 2.2, 2.5},
		{"large", 730, 1000},
		{"zero", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := niceStep(tt.raw); got < tt.want*0.999999 || got > tt.want*1.000001 {
				t.Errorf("niceStep(%g) = %g, want %g", tt.raw, got, tt.want)
			}
		})
	}
}
