package engine

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		gone    []string
		kept    []string
	}{
		{"known secret", `Get "http://prom:9090": token s3cr3t-value rejected`, []string{"s3cr3t-value"}, []string{"s3cr3t-value"}, []string{"http://prom:9090", "rejected"}},
		{"url password", `dial postgres://shop:hunter22@db:5432/shop failed`, nil, []string{"hunter22"}, []string{"postgres://shop:", "@db:5432"}},
		{"query token", `GET https://h/x?token=abc123&x=1: 401`, nil, []string{"abc123"}, []string{"x=1", "401"}},
		{"dsn password", `host=db user=shop password=hunter22 dbname=shop`, nil, []string{"hunter22"}, []string{"user=shop", "dbname=shop"}},
		{"bearer", `Authorization: Bearer eyJhbGciOi.payload.sig`, nil, []string{"eyJhbGciOi"}, []string{"Authorization"}},
		{"slack webhook", `post https://hooks.slack.com/services/T000/B000/XXXXYYYY: 404`, nil, []string{"T000/B000/XXXXYYYY"}, []string{"hooks.slack.com", "404"}},
		{"short secret ignored", `a b c`, []string{"b"}, nil, []string{"a b c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.in, tt.secrets...)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("Redact(%q) = %q still contains %q", tt.in, got, g)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("Redact(%q) = %q lost %q", tt.in, got, k)
				}
			}
		})
	}
}
