package live

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Options say where a gather finds what the live sources cannot tell.
type Options struct {
	// Deadline bounds the whole collection (default DefaultDeadline).
	Deadline time.Duration
	// Archive is the launch archive: its pre-cutover integrity run is the baseline and its
	// earlier decisions the history. A directory without an archive yet is skipped.
	Archive string
	// Baseline is a facts file whose integrity fact is the baseline; it wins over the archive's.
	Baseline string
	// Sources replaces the default collectors (tests, benchmarks).
	Sources []engine.Source
}

// Gather collects the facts of the gate p names and assembles the policy input. p.Now zero
// means the wall clock; otherwise the collection runs as if at p.Now (recorded or backfilled
// data), and observations stamped with the wall clock are rebased onto it so their ages are
// the real ones. The input's now is when collection ended, rounded up to the second, so every
// fact was collected at or before it as the policies require of a usable fact.
func Gather(ctx context.Context, rb *engine.Runbook, p engine.Params, o Options) (*engine.Input, error) {
	// Refuse unknown coordinates before touching any live system.
	if _, err := engine.BuildInput(rb, p, nil); err != nil {
		return nil, err
	}
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	start := time.Now().UTC()
	req := engine.Request{Runbook: rb, Environment: p.Environment, Gate: p.Gate, Step: p.Step, Now: p.Now}
	if req.Now.IsZero() {
		req.Now = start
	}
	req.CutoverAt, _ = time.Parse(time.RFC3339, p.CutoverAt)
	req.StepStarted, _ = time.Parse(time.RFC3339, p.StepStartedAt)
	facts := Collect(ctx, req, o.Deadline, o.Sources...)
	if o.Archive != "" {
		if _, err := os.Stat(filepath.Join(o.Archive, archive.MetaFile)); err == nil {
			known, err := FromArchive(o.Archive, req.Now)
			if err != nil {
				return nil, err
			}
			for name, fact := range known {
				// A deployment status the deploy tooling reported wins over the hook's exit.
				if cur, ok := facts[name]; ok && name == "deployment" && cur.Err == "" {
					continue
				}
				facts[name] = fact
			}
		}
	}
	if p.Gate == engine.PreCutover && p.Environment != "staging" {
		if env, ok := rb.Env(p.Environment); ok {
			facts["rehearsal"] = Rehearsal(rb, env, req.Now)
		}
	}
	if o.Baseline != "" {
		b, err := Baseline(o.Baseline)
		if err != nil {
			return nil, err
		}
		facts["integrity_baseline"] = b
	}
	end := time.Now().UTC()
	if !p.Now.IsZero() {
		shift := p.Now.Sub(start)
		for name, fact := range facts {
			// Only wall-clock stamps move; a source that already stamps the requested time
			// (Prometheus evaluates at it) or an archived one is left alone.
			if fact.Source != "archive" && !fact.CollectedAt.Before(start.Add(-time.Second)) {
				fact.CollectedAt = fact.CollectedAt.Add(shift)
				facts[name] = fact
			}
		}
		end = end.Add(shift)
	}
	p.Now = end.Add(time.Second - time.Nanosecond).Truncate(time.Second)
	return engine.BuildInput(rb, p, engine.FactsMap(facts))
}
