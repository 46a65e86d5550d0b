package report

import "testing"

func TestIsCritical(t *testing.T) {
	critical := []string{"homepage loads with 200", "/^checkout /", "/[/"}
	tests := []struct {
		name string
		step string
		want bool
	}{
		{"exact name", "homepage loads with 200", true},
		{"regex", "checkout completes with test card", true},
		{"regex anchored", "guest checkout works", false},
		{"not listed", "wishlist sync", false},
		{"bad regex ignored", "[", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isCritical(tt.step, critical); got != tt.want {
				t.Errorf("isCritical(%q) = %v, want %v", tt.step, got, tt.want)
			}
		})
	}
}
