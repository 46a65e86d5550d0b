package prometheus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// result is what one job observed.
type result struct {
	job      job
	ran      bool
	samples  []any   // range jobs: [[unix_seconds, "value"], ...], never nil once ran
	value    *string // instant jobs: nil when no series
	warnings []string
	infos    []string
	err      error
	took     time.Duration
}

// runner runs jobs against one Prometheus.
type runner struct {
	api     v1.API
	timeout time.Duration
	secrets []string
}

// do runs one job under the per-query timeout.
func (r *runner) do(ctx context.Context, j job) result {
	res := result{job: j}
	if j.err != nil {
		res.err = j.err
		return res
	}
	if j.skip != "" {
		res.samples = []any{}
		return res
	}
	res.ran = true
	qctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var (
		val   model.Value
		warns v1.Warnings
		infos v1.Infos
		err   error
	)
	switch j.kind {
	case rangeJob:
		val, warns, infos, err = r.api.QueryRange(qctx, j.query, v1.Range{Start: j.start, End: j.end, Step: j.step}, v1.WithTimeout(r.timeout))
	default:
		val, warns, infos, err = r.api.Query(qctx, j.query, j.end, v1.WithTimeout(r.timeout))
	}
	res.warnings, res.infos = []string(warns), []string(infos)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			res.err = fmt.Errorf("collection stopped before the query answered (%v): %w", context.Cause(ctx), err)
		case qctx.Err() != nil:
			res.err = fmt.Errorf("query timed out after %s: %w", r.timeout, err)
		default:
			res.err = err
		}
		return res
	}
	if j.kind == rangeJob {
		res.samples, res.err = matrixSamples(j.query, val)
	} else {
		res.value, res.err = instantValue(j.query, val)
	}
	return res
}

// matrixSamples converts a range query's single series to Prometheus' own encoding.
func matrixSamples(query string, val model.Value) ([]any, error) {
	m, ok := val.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("expected a range vector from %s, got %s", query, typeOf(val))
	}
	switch len(m) {
	case 0:
		return []any{}, nil
	case 1:
	default:
		return nil, fmt.Errorf("query returned %d series, it must aggregate them into one (e.g. with sum): %s", len(m), query)
	}
	if len(m[0].Histograms) > 0 {
		return nil, fmt.Errorf("query returned native histogram samples, expected float samples: %s", query)
	}
	out := make([]any, 0, len(m[0].Values))
	for _, p := range m[0].Values {
		out = append(out, []any{unixSeconds(p.Timestamp), p.Value.String()})
	}
	return out, nil
}

// instantValue reads an instant query's single value; nil when it returned no series.
func instantValue(query string, val model.Value) (*string, error) {
	switch v := val.(type) {
	case model.Vector:
		switch len(v) {
		case 0:
			return nil, nil
		case 1:
			if v[0].Histogram != nil {
				return nil, fmt.Errorf("query returned a native histogram, expected a float: %s", query)
			}
			s := v[0].Value.String()
			return &s, nil
		default:
			return nil, fmt.Errorf("query returned %d series, it must aggregate them into one (e.g. with sum): %s", len(v), query)
		}
	case *model.Scalar:
		s := v.Value.String()
		return &s, nil
	}
	return nil, fmt.Errorf("expected an instant vector or scalar from %s, got %s", query, typeOf(val))
}

func typeOf(v model.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().String()
}

// unixSeconds is a sample time as the JSON number Prometheus itself writes: seconds, with
// milliseconds as a fraction.
func unixSeconds(t model.Time) float64 { return float64(t) / 1000 }

// assemble builds fact name from the results of its jobs.
func assemble(name string, p *plan, results []result, at time.Time, secrets []string) engine.Fact {
	f := engine.Fact{Source: Source, CollectedAt: at, Data: maps.Clone(p.meta[name])}
	if f.Data == nil {
		f.Data = map[string]any{}
	}
	var mine []result
	for _, r := range results {
		if r.job.fact == name {
			mine = append(mine, r)
			f.Duration = max(f.Duration, r.took)
		}
	}
	if name == FactIntegrationAvailability {
		return availability(f, p, mine, secrets)
	}
	if len(mine) != 1 {
		f.Query = ""
		f.URL = p.url
		f.Err = wrap(fmt.Errorf("internal: %d queries planned for fact %s", len(mine), name)).Error()
		return f
	}
	r := mine[0]
	f.Query = r.job.query
	annotate(f.Data, r, secrets)
	if r.err != nil {
		f.Err = errMessage(r.err, secrets)
		return f
	}
	if r.job.kind == rangeJob {
		f.Data["samples"] = r.samples
	} else if r.value != nil {
		f.Data["value"] = *r.value
	}
	return f
}

// availability builds integration_availability: one item per integration with an
// availability_query. Any failed item fails the fact, naming the integrations, so a partial
// answer never passes for a complete one; the items that answered keep their samples.
func availability(f engine.Fact, p *plan, mine []result, secrets []string) engine.Fact {
	f.URL = p.url
	if f.URL == "" {
		f.Path = p.runbookPath
	}
	items := make([]any, 0, len(mine))
	var failures []string
	for _, r := range mine {
		item := map[string]any{"name": r.job.item, "query": r.job.query}
		annotate(item, r, secrets)
		if r.err != nil {
			msg := engine.Redact(errDetail(r.err), secrets...)
			item["error"] = msg
			failures = append(failures, r.job.item+": "+msg)
		} else {
			item["samples"] = r.samples
		}
		items = append(items, item)
	}
	f.Data["items"] = items
	if len(failures) > 0 {
		f.Err = engine.Redact(wrap(fmt.Errorf("availability of %s", strings.Join(failures, "; "))).Error(), secrets...)
	}
	return f
}

// annotate adds the API's warnings and infos, and why a job did not run.
func annotate(data map[string]any, r result, secrets []string) {
	if len(r.warnings) > 0 {
		data["warnings"] = redactAll(r.warnings, secrets)
	}
	if len(r.infos) > 0 {
		data["infos"] = redactAll(r.infos, secrets)
	}
	if r.job.skip != "" {
		data["note"] = r.job.skip
	}
}

func redactAll(in []string, secrets []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = engine.Redact(s, secrets...)
	}
	return out
}

// errDetail is an error's text with the server's reply, unprefixed.
func errDetail(err error) string {
	msg := err.Error()
	var apiErr *v1.Error
	if errors.As(err, &apiErr) && apiErr.Detail != "" {
		msg += ": " + excerpt(apiErr.Detail, 300)
	}
	return msg
}

// failed is fact name when the gate could not be asked at all (bad runbook, missing secret).
func failed(name string, p *plan, at, began time.Time, err error, secrets []string) engine.Fact {
	f := engine.Fact{Source: Source, CollectedAt: at, Duration: time.Since(began), Err: errMessage(err, secrets), Data: maps.Clone(p.meta[name])}
	for _, j := range p.jobs {
		if j.fact == name && name != FactIntegrationAvailability {
			f.Query = j.query
		}
	}
	if f.Query == "" {
		f.URL = p.url
		if f.URL == "" {
			f.Path = p.runbookPath
		}
	}
	if f.Data == nil {
		f.Data = map[string]any{}
	}
	return f
}
