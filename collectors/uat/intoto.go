package uat

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/collectors/internal/httpx"
)

// The in-toto types this package accepts.
const (
	StatementV1         = "https://in-toto.io/Statement/v1"                 // in-toto Statement v1 _type
	StatementV01        = "https://in-toto.io/Statement/v0.1"               // in-toto Statement v0.1 _type (same fields)
	TestResultPredicate = "https://in-toto.io/attestation/test-result/v0.1" // the only predicateType accepted
	InTotoPayloadType   = "application/vnd.in-toto+json"                    // DSSE payloadType of an in-toto statement
	EnvelopeDSSE        = "dsse"                                            // the statement came in a DSSE envelope
	EnvelopeNone        = "none"                                            // the statement came bare
	maxSubjects         = 1000
	digestSHA256        = "sha256"
	digestGitCommit     = "gitCommit"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// attestation is what a test-result attestation says about the approved build.
type attestation struct {
	Version       string
	Commit        string
	Image         string
	Result        string // predicate.result, raw (PASSED, WARNED, FAILED)
	StatementType string
	Envelope      string // EnvelopeDSSE or EnvelopeNone
	Signatures    int    // signatures on the DSSE envelope (never verified here)
	RunURL        string // predicate.url
	Passed        int
	Warned        int
	Failed        int
}

type envelope struct {
	PayloadType string            `json:"payloadType"`
	Payload     string            `json:"payload"`
	Signatures  []json.RawMessage `json:"signatures"`
}

type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name        string            `json:"name"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]any    `json:"annotations"`
}

type testResult struct {
	Result      *string  `json:"result"`
	URL         string   `json:"url"`
	PassedTests []string `json:"passedTests"`
	WarnedTests []string `json:"warnedTests"`
	FailedTests []string `json:"failedTests"`
}

// parseInToto reads an in-toto test-result attestation: a Statement (v1, or v0.1 with the
// same fields), or a DSSE envelope whose payload is one. The envelope's signatures are
// counted, not verified: verification needs trusted keys the runbook does not name yet.
//
// The approved image is the subject with a sha256 digest (reported as name@sha256:hex),
// the commit the subject with a gitCommit digest, the version the subject's
// annotations.version. Several different images or commits make the approval ambiguous
// and are an error; a missing one is left empty for the policy to judge.
func parseInToto(body []byte) (attestation, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		if _, derr := httpx.DecodeJSON(body); derr != nil {
			return attestation{}, derr
		}
		return attestation{}, errors.New("not a JSON object: expected an in-toto Statement or a DSSE envelope")
	}
	var a attestation
	a.Envelope = EnvelopeNone
	if _, ok := probe["payloadType"]; ok {
		var env envelope
		if err := json.Unmarshal(body, &env); err != nil {
			return attestation{}, fmt.Errorf("DSSE envelope: %w", err)
		}
		if env.PayloadType != InTotoPayloadType {
			return attestation{}, fmt.Errorf("DSSE envelope payloadType is %q, expected %q", env.PayloadType, InTotoPayloadType)
		}
		payload, err := decodeBase64(env.Payload)
		if err != nil {
			return attestation{}, fmt.Errorf("DSSE envelope payload: %w", err)
		}
		body = payload
		a.Envelope = EnvelopeDSSE
		a.Signatures = len(env.Signatures)
	}
	var st statement
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&st); err != nil {
		return attestation{}, fmt.Errorf("in-toto statement: %w", err)
	}
	if err := httpx.AtEOF(d); err != nil {
		return attestation{}, fmt.Errorf("in-toto statement: %w", err)
	}
	if st.Type != StatementV1 && st.Type != StatementV01 {
		return attestation{}, fmt.Errorf("_type is %q, expected %q", st.Type, StatementV1)
	}
	if st.PredicateType != TestResultPredicate {
		return attestation{}, fmt.Errorf("predicateType is %q, expected %q", st.PredicateType, TestResultPredicate)
	}
	a.StatementType = st.Type
	if len(st.Subject) == 0 {
		return attestation{}, errors.New("statement has no subject")
	}
	if len(st.Subject) > maxSubjects {
		return attestation{}, fmt.Errorf("statement has %d subjects, more than %d", len(st.Subject), maxSubjects)
	}
	var images, commits, versions []string
	for i, s := range st.Subject {
		v, _ := s.Annotations["version"].(string)
		if h, ok := s.Digest[digestSHA256]; ok {
			if !sha256Hex.MatchString(h) {
				return attestation{}, fmt.Errorf("subject[%d] sha256 digest %q is not 64 hex digits", i, h)
			}
			ref := "sha256:" + strings.ToLower(h)
			if s.Name != "" {
				ref = s.Name + "@" + ref
			}
			images = appendNew(images, ref)
			if v != "" {
				versions = appendNew(versions, v)
			}
		}
		if c, ok := s.Digest[digestGitCommit]; ok {
			if strings.TrimSpace(c) == "" {
				return attestation{}, fmt.Errorf("subject[%d] gitCommit digest is empty", i)
			}
			commits = appendNew(commits, c)
			if v != "" {
				versions = appendNew(versions, v)
			}
		}
	}
	var err error
	if a.Image, err = one("image (sha256) subjects", images); err != nil {
		return attestation{}, err
	}
	if a.Commit, err = one("gitCommit subjects", commits); err != nil {
		return attestation{}, err
	}
	if a.Version, err = one("annotations.version values", versions); err != nil {
		return attestation{}, err
	}
	var tr testResult
	if len(st.Predicate) == 0 || string(st.Predicate) == "null" {
		return attestation{}, errors.New("statement has no predicate")
	}
	if err := json.Unmarshal(st.Predicate, &tr); err != nil {
		return attestation{}, fmt.Errorf("test-result predicate: %w", err)
	}
	if tr.Result == nil || strings.TrimSpace(*tr.Result) == "" {
		return attestation{}, errors.New("test-result predicate has no result")
	}
	a.Result = *tr.Result
	a.RunURL = tr.URL
	a.Passed, a.Warned, a.Failed = len(tr.PassedTests), len(tr.WarnedTests), len(tr.FailedTests)
	return a, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func one(what string, list []string) (string, error) {
	switch len(list) {
	case 0:
		return "", nil
	case 1:
		return list[0], nil
	default:
		return "", fmt.Errorf("ambiguous approval: %d different %s (%s)", len(list), what, strings.Join(list, ", "))
	}
}

// decodeBase64 accepts the encodings DSSE allows: standard or URL-safe, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
