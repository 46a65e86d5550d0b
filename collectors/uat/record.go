package uat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/internal/httpx"
)

// Record is the gatekeeper UAT approval format: a small JSON object the UAT sign-off
// writes. commit and result are required; unknown members are an error, so a misspelt
// field cannot silently drop out of the approval.
//
//	{"version": "2.4.0",
//	 "commit": "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8",
//	 "image": "registry.example.com/shop/web@sha256:d7bd…",
//	 "result": "PASSED",
//	 "approved_by": "Priya Raman",            // or ["Priya Raman", "Dana Ortiz"]
//	 "approved_at": "2026-11-20T15:04:05Z"}
type Record struct {
	Version    string   `json:"version,omitempty"`     // release version, optional
	Commit     string   `json:"commit"`                // commit SHA, short or full; required
	Image      string   `json:"image,omitempty"`       // image reference with its digest, optional
	Result     string   `json:"result"`                // PASSED, WARNED or FAILED, reported raw; required
	ApprovedBy Approver `json:"approved_by,omitempty"` // who approved (a name or a list), optional
	ApprovedAt string   `json:"approved_at,omitempty"` // RFC 3339 time of the approval, optional
}

// Approver is approved_by: one name or a list of names.
type Approver []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *Approver) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Approver{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("approved_by must be a string or an array of strings")
	}
	*a = many
	return nil
}

// parseRecord reads a gatekeeper-format UAT record.
func parseRecord(body []byte) (Record, error) {
	var r Record
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("gatekeeper UAT record: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := httpx.AtEOF(d); err != nil {
		return Record{}, fmt.Errorf("gatekeeper UAT record: %w", err)
	}
	if strings.TrimSpace(r.Commit) == "" {
		return Record{}, errors.New("gatekeeper UAT record: commit is required")
	}
	if strings.TrimSpace(r.Result) == "" {
		return Record{}, errors.New("gatekeeper UAT record: result is required")
	}
	if r.ApprovedAt != "" {
		if _, err := time.Parse(time.RFC3339, r.ApprovedAt); err != nil {
			return Record{}, fmt.Errorf("gatekeeper UAT record: approved_at %q is not an RFC 3339 time", r.ApprovedAt)
		}
	}
	return r, nil
}
