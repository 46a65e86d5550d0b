package uat

import (
	"encoding/base64"
	"os"
	"regexp"
	"strings"
	"testing"
)

var imageRef = regexp.MustCompile(`^([^@]+@)?sha256:[0-9a-f]{64}$`)

// FuzzInToto feeds arbitrary bytes to the in-toto parser: it must never panic, and an
// accepted attestation must carry a result and well-formed image digests.
func FuzzInToto(f *testing.F) {
	example, err := os.ReadFile(example)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add(dsse(example, base64.StdEncoding))
	f.Add(dsse(example, base64.RawURLEncoding))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://in-toto.io/attestation/test-result/v0.1","subject":[{"name":"x","digest":{"sha256":"` + strings.Repeat("a", 64) + `","gitCommit":"abc"}}],"predicate":{"result":"FAILED"}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://in-toto.io/attestation/test-result/v0.1","subject":[{"digest":{"sha256":"zz"}}],"predicate":null}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicate":{}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"payloadType":1}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseInToto(body)
		if err != nil {
			return
		}
		if strings.TrimSpace(a.Result) == "" {
			t.Fatalf("accepted without a result: %+v", a)
		}
		if a.Image != "" && !imageRef.MatchString(a.Image) {
			t.Fatalf("image %q is not name@sha256:<64 hex>", a.Image)
		}
		if a.Envelope != EnvelopeDSSE && a.Envelope != EnvelopeNone {
			t.Fatalf("envelope %q", a.Envelope)
		}
	})
}

// FuzzRecord feeds arbitrary bytes to the gatekeeper record parser.
func FuzzRecord(f *testing.F) {
	f.Add([]byte(`{"version":"2.4.0","commit":"86f7e43","image":"r@sha256:` + strings.Repeat("a", 64) + `","result":"PASSED","approved_by":"P","approved_at":"2026-11-20T15:04:05Z"}`))
	f.Add([]byte(`{"commit":"a","result":"PASSED","approved_by":["a","b"]}`))
	f.Add([]byte(`{"commit":"a","result":"PASSED","approved_by":7}`))
	f.Add([]byte(`{"comit":"a"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseRecord(body)
		if err != nil {
			return
		}
		if strings.TrimSpace(r.Commit) == "" || strings.TrimSpace(r.Result) == "" {
			t.Fatalf("accepted without commit or result: %+v", r)
		}
	})
}
