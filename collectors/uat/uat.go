// Package uat collects the fact `uat`: the build UAT approved, from the source the runbook
// names — an approval record file or URL (an in-toto test-result attestation, bare or in a
// DSSE envelope, or the gatekeeper record format) or the UAT environment's version
// endpoint. It runs at pre-cutover. The policy compares the approved build with the
// release; this package only reports what the source says.
package uat

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/internal/httpx"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FactName is the fact this collector produces.
const FactName = "uat"

// Record formats of the runbook's uat.record.format, and the endpoint origin.
const (
	FormatGatekeeper = "gatekeeper" // the Record JSON format
	FormatInToto     = "in-toto"    // an in-toto test-result attestation, bare or in DSSE
	FormatEndpoint   = "endpoint"   // the UAT environment's version endpoint
)

// ResultEndpoint is the result reported for a build read from the UAT environment's
// version endpoint: the endpoint says what UAT runs, not that it passed. The policy
// decides whether that is enough.
const ResultEndpoint = "ENDPOINT"

// Collector reads the UAT-approved build.
type Collector struct {
	cfg httpx.Config
}

// Option configures a Collector.
type Option = httpx.Option

// The options every HTTP collector shares (collectors/internal/httpx documents each).
var (
	WithHTTPClient     = httpx.WithHTTPClient
	WithTimeout        = httpx.WithTimeout
	WithLookupEnv      = httpx.WithLookupEnv
	WithMaxBody        = httpx.WithMaxBody
	WithBearerTokenEnv = httpx.WithBearerTokenEnv
)

// New returns a UAT collector.
func New(opts ...Option) *Collector {
	return &Collector{cfg: httpx.Apply(opts)}
}

var _ engine.Collector = (*Collector)(nil)

// Collect returns the fact `uat` at pre-cutover, nothing at other gates. Any failure to
// read or understand the source is the fact's error.
func (c *Collector) Collect(ctx context.Context, req engine.Request) map[string]engine.Fact {
	if req.Gate != engine.PreCutover {
		return map[string]engine.Fact{}
	}
	start := time.Now()
	fact := engine.Fact{Source: "uat", CollectedAt: start}
	data, err := c.collect(ctx, req, &fact)
	if err != nil {
		fact.Err = fmt.Errorf("collect uat: %w", err).Error()
	}
	if fact.Query == "" && fact.URL == "" && fact.Path == "" {
		fact.Query = "runbook uat"
	}
	fact.Data = data
	fact.Duration = time.Since(start)
	return map[string]engine.Fact{FactName: fact}
}

func (c *Collector) collect(ctx context.Context, req engine.Request, fact *engine.Fact) (map[string]any, error) {
	if req.Runbook == nil {
		return nil, errors.New("no runbook in the request")
	}
	spec := req.Runbook.Spec.UAT
	token, err := c.cfg.Token()
	if err != nil {
		return nil, err
	}
	red := httpx.Redactor{token}
	switch {
	case spec.Record != nil && spec.Endpoint != nil:
		return nil, errors.New("runbook uat gives both record and endpoint; give exactly one")
	case spec.Endpoint != nil:
		fact.URL = red.S(spec.Endpoint.URL)
		d, err := c.endpoint(ctx, spec.Endpoint, red)
		return d, wrapRed(err, red)
	case spec.Record != nil:
		r := spec.Record
		var body []byte
		switch {
		case r.Path != "" && r.URL != "":
			return nil, errors.New("runbook uat.record gives both path and url; give exactly one")
		case r.Path != "":
			p := r.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(req.Runbook.Path), p)
			}
			fact.Path = p
			body, err = httpx.ReadFile(p, c.cfg.MaxBody)
			if err != nil {
				return nil, fmt.Errorf("read UAT record: %w", err)
			}
		case r.URL != "":
			fact.URL = red.S(r.URL)
			resp, err := httpx.Get(ctx, c.cfg, r.URL, "application/json")
			if err != nil {
				return nil, wrapRed(fmt.Errorf("fetch UAT record: %w", err), red)
			}
			if resp.StatusCode < 200 || resp.StatusCode >= 300 {
				return nil, wrapRed(fmt.Errorf("fetch UAT record: HTTP %d: %s", resp.StatusCode, httpx.Snippet(resp.Body, 120)), red)
			}
			if httpx.IsHTML(resp.ContentType, resp.Body) {
				return nil, wrapRed(fmt.Errorf("fetch UAT record: an HTML page, not a UAT record (a proxy or login page?): %s", httpx.Snippet(resp.Body, 120)), red)
			}
			body = resp.Body
		default:
			return nil, errors.New("runbook uat.record gives neither path nor url")
		}
		d, err := record(r.Format, body, red)
		return d, wrapRed(err, red)
	default:
		return nil, errors.New("runbook uat gives neither record nor endpoint")
	}
}

// wrapRed redacts an error's text (servers echo credentials back).
func wrapRed(err error, red httpx.Redactor) error {
	if err == nil {
		return nil
	}
	return errors.New(red.S(err.Error()))
}

// record reads an approval record in the runbook's format.
func record(format string, body []byte, red httpx.Redactor) (map[string]any, error) {
	switch format {
	case FormatInToto:
		a, err := parseInToto(body)
		if err != nil {
			return nil, fmt.Errorf("in-toto attestation: %w", err)
		}
		d := map[string]any{
			"approved":           approved(a.Version, a.Commit, a.Image, red),
			"result":             red.S(a.Result),
			"format":             FormatInToto,
			"statement_type":     a.StatementType,
			"predicate_type":     TestResultPredicate,
			"envelope":           a.Envelope,
			"signature_verified": false,
			"tests":              map[string]any{"passed": a.Passed, "warned": a.Warned, "failed": a.Failed},
		}
		if a.Envelope == EnvelopeDSSE {
			d["signatures"] = a.Signatures
		}
		if a.RunURL != "" {
			d["run_url"] = red.S(a.RunURL)
		}
		return d, nil
	case FormatGatekeeper, "":
		r, err := parseRecord(body)
		if err != nil {
			return nil, err
		}
		d := map[string]any{
			"approved": approved(r.Version, r.Commit, r.Image, red),
			"result":   red.S(r.Result),
			"format":   FormatGatekeeper,
		}
		if len(r.ApprovedBy) > 0 {
			by := make([]any, len(r.ApprovedBy))
			for i, n := range r.ApprovedBy {
				by[i] = red.S(n)
			}
			d["approved_by"] = by
		}
		if r.ApprovedAt != "" {
			d["approved_at"] = r.ApprovedAt
		}
		return d, nil
	default:
		return nil, fmt.Errorf("unknown uat.record.format %q (want %s or %s)", format, FormatGatekeeper, FormatInToto)
	}
}

// endpoint reads the build the UAT environment serves from its version endpoint.
func (c *Collector) endpoint(ctx context.Context, ep *engine.UATEndpoint, red httpx.Redactor) (map[string]any, error) {
	if ep.URL == "" {
		return nil, errors.New("runbook uat.endpoint has no url")
	}
	resp, err := httpx.Get(ctx, c.cfg, ep.URL, "application/json, text/plain;q=0.5")
	if err != nil {
		return nil, fmt.Errorf("fetch UAT version endpoint: %w", err)
	}
	b, err := httpx.ParseBuild(resp.ContentType, resp.StatusCode, resp.Body, ep.CommitPath, ep.ImagePath)
	if err != nil {
		return nil, fmt.Errorf("UAT version endpoint: %w", err)
	}
	return map[string]any{
		"approved":    approved(b.Version, b.Commit, b.Image, red),
		"result":      ResultEndpoint,
		"format":      FormatEndpoint,
		"status_code": resp.StatusCode,
	}, nil
}

// approved is the approved build; members the source does not give are left out.
func approved(version, commit, image string, red httpx.Redactor) map[string]any {
	m := map[string]any{}
	for k, v := range map[string]string{"version": version, "commit": commit, "image": image} {
		if v != "" {
			m[k] = red.S(v)
		}
	}
	return m
}
