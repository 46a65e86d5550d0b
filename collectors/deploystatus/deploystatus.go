// Package deploystatus collects the fact `deployment`: the result of the cutover's
// deployment step, as the pipeline left it in a file or an environment variable named by
// the environment's deployment_status. It runs at post-deploy.
//
// The file or variable holds either a JSON object {"status", "finished_at", "detail"} or a
// single word. Accepted statuses, case-insensitive: succeeded, success, successful, passed
// (→ succeeded); failed, failure, error, errored, cancelled, canceled, aborted (→ failed).
// Anything else is an error, never a guess.
package deploystatus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/collectors/internal/httpx"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// FactName is the fact this collector produces.
const FactName = "deployment"

// Statuses of the fact.
const (
	Succeeded = "succeeded" // the deployment step succeeded
	Failed    = "failed"    // the deployment step failed, was cancelled or aborted
)

var aliases = map[string]string{
	"succeeded": Succeeded, "success": Succeeded, "successful": Succeeded, "passed": Succeeded,
	"failed": Failed, "failure": Failed, "error": Failed, "errored": Failed,
	"cancelled": Failed, "canceled": Failed, "aborted": Failed,
}

// maxDetail bounds the detail string kept in the fact.
const maxDetail = 2000

// Collector reads the deployment step's status.
type Collector struct {
	lookupEnv func(string) (string, bool)
	maxBody   int64
}

// Option configures a Collector.
type Option func(*Collector)

// WithLookupEnv sets how environment variables are read (default os.LookupEnv).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(c *Collector) { c.lookupEnv = f }
}

// WithMaxBody sets the largest status file or variable read, in bytes (default 1 MiB).
func WithMaxBody(n int64) Option { return func(c *Collector) { c.maxBody = n } }

// New returns a deployment-status collector.
func New(opts ...Option) *Collector {
	c := &Collector{lookupEnv: os.LookupEnv, maxBody: httpx.DefaultMaxBody}
	for _, o := range opts {
		o(c)
	}
	if c.lookupEnv == nil {
		c.lookupEnv = os.LookupEnv
	}
	if c.maxBody <= 0 {
		c.maxBody = httpx.DefaultMaxBody
	}
	return c
}

var _ engine.Collector = (*Collector)(nil)

// Collect returns the fact `deployment` at post-deploy, nothing at other gates. A missing,
// unreadable or unrecognized status is the fact's error.
func (c *Collector) Collect(_ context.Context, req engine.Request) map[string]engine.Fact {
	if req.Gate != engine.PostDeploy {
		return map[string]engine.Fact{}
	}
	start := time.Now()
	fact := engine.Fact{Source: "deploy", Query: fmt.Sprintf("environments.%s.deployment_status", req.Environment), CollectedAt: start}
	data, err := c.collect(req, &fact)
	if err != nil {
		fact.Err = fmt.Errorf("collect deployment: %w", err).Error()
	}
	fact.Data = data
	fact.Duration = time.Since(start)
	return map[string]engine.Fact{FactName: fact}
}

func (c *Collector) collect(req engine.Request, fact *engine.Fact) (map[string]any, error) {
	env, err := httpx.Environment(req)
	if err != nil {
		return nil, err
	}
	ds := env.DeploymentStatus
	switch {
	case ds == nil || ds.File == "" && ds.Env == "":
		return nil, fmt.Errorf("environments.%s.deployment_status names no file or env", req.Environment)
	case ds.File != "" && ds.Env != "":
		return nil, fmt.Errorf("environments.%s.deployment_status names both a file and an env variable; give exactly one", req.Environment)
	case ds.File != "":
		p := ds.File
		if !filepath.IsAbs(p) && req.Runbook != nil {
			p = filepath.Join(filepath.Dir(req.Runbook.Path), p)
		}
		fact.Path = p
		fact.Query = ""
		body, err := httpx.ReadFile(p, c.maxBody)
		if err != nil {
			return nil, fmt.Errorf("read deployment status: %w", err)
		}
		d, err := parse(body)
		if err != nil {
			return nil, fmt.Errorf("deployment status file %s: %w", p, err)
		}
		if _, ok := d["finished_at"]; !ok {
			// A bare word carries no time; the file was written when the step finished.
			if st, err := os.Stat(p); err == nil {
				d["finished_at"] = httpx.Timestamp(st.ModTime())
				d["finished_at_from"] = "file mtime"
			}
		}
		return d, nil
	default:
		fact.Query = "env " + ds.Env
		v, ok := c.lookupEnv(ds.Env)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", ds.Env)
		}
		if int64(len(v)) > c.maxBody {
			return nil, fmt.Errorf("environment variable %s holds %d bytes, over the limit of %s: %w", ds.Env, len(v), httpx.Size(c.maxBody), httpx.ErrTooLarge)
		}
		d, err := parse([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("environment variable %s: %w", ds.Env, err)
		}
		return d, nil
	}
}

// statusDoc is the JSON form of a deployment status; other members are ignored, since the
// pipeline's tooling may add its own.
type statusDoc struct {
	Status     *string `json:"status"`
	FinishedAt *string `json:"finished_at"`
	Detail     any     `json:"detail"`
}

// parse reads a status: a JSON object or a single word.
func parse(body []byte) (map[string]any, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("empty: expected succeeded or failed, or a JSON object with status")
	}
	if trimmed[0] == '{' {
		var doc statusDoc
		d := json.NewDecoder(bytes.NewReader(trimmed))
		if err := d.Decode(&doc); err != nil {
			return nil, fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		if err := httpx.AtEOF(d); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		if doc.Status == nil {
			return nil, errors.New("JSON status object has no status")
		}
		out, err := status(*doc.Status)
		if err != nil {
			return nil, err
		}
		if doc.FinishedAt != nil && *doc.FinishedAt != "" {
			t, err := time.Parse(time.RFC3339, *doc.FinishedAt)
			if err != nil {
				return nil, fmt.Errorf("finished_at %q is not an RFC 3339 time", *doc.FinishedAt)
			}
			out["finished_at"] = httpx.Timestamp(t)
		}
		switch x := doc.Detail.(type) {
		case nil:
		case string:
			out["detail"] = detail(x)
		default:
			b, _ := json.Marshal(x)
			out["detail"] = detail(string(b))
		}
		return out, nil
	}
	if fields := strings.Fields(string(trimmed)); len(fields) != 1 {
		return nil, fmt.Errorf("expected a single word (succeeded or failed) or a JSON object, got %q", httpx.Snippet(trimmed, 80))
	}
	return status(string(trimmed))
}

func status(raw string) (map[string]any, error) {
	raw = strings.TrimSpace(raw)
	s, ok := aliases[strings.ToLower(raw)]
	if !ok {
		return nil, fmt.Errorf("unrecognized deployment status %q (want succeeded or failed)", httpx.Snippet([]byte(raw), 80))
	}
	out := map[string]any{"status": s}
	if raw != s {
		out["raw_status"] = raw
	}
	return out, nil
}

// detail is the pipeline's message, redacted and bounded.
func detail(s string) string {
	s = engine.Redact(s)
	if len(s) > maxDetail {
		s = strings.ToValidUTF8(s[:maxDetail], "") + "…"
	}
	return s
}
