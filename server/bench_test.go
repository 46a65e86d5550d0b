package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDecideFacts is one POST /v1/decide with the facts of the healthy window (the
// largest example input) in the body, through the handler: validation, decision, encoding.
func BenchmarkDecideFacts(b *testing.B) {
	s, _ := newServer(b)
	body := scenario(b, "healthy__window.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/decide?runbook=runbook", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rr := httptest.NewRecorder()
		s.ServeHTTP(rr, req)
		if rr.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rr.Code, rr.Body)
		}
	}
}
