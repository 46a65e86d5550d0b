package main

import (
	"context"
	"fmt"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// decideArchived makes the decision with decide and, when dir is set, appends it to the
// launch's archive with its input, runbook and policy set. The decision is made under the
// archive's lock so that its prev (and so its decision_id) is the archive's last record.
func decideArchived(ctx context.Context, dir string, rb *engine.Runbook, ps *engine.PolicySet, in *engine.Input, decide func(prev string) (*engine.Record, error)) (*engine.Record, error) {
	if dir == "" {
		return decide("")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := in.Map()
	if err != nil {
		return nil, err
	}
	input, err := engine.Canonical(m)
	if err != nil {
		return nil, fmt.Errorf("archive: input: %w", err)
	}
	a, err := archive.OpenOrCreate(dir, in.LaunchID, in.Environment)
	if err != nil {
		return nil, err
	}
	e, err := a.Append(archive.Blobs{
		Input: input, RunbookSource: rb.Source, RunbookNormalized: rb.Normalized, Policies: ps.Modules(),
	}, decide)
	if err != nil {
		return nil, err
	}
	return &e.Record, nil
}
