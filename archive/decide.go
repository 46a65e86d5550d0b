package archive

import (
	"crypto/ed25519"
	"fmt"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// AppendDecision makes a decision with decide and appends it to the launch archive in dir
// (created if missing) with its exact input, the runbook and the policy set, signed with key
// when key is set. decide runs under the archive's lock, so its prev (and so its
// decision_id) is the archive's last record even when several callers decide at once.
// evaluate and serve both archive through here, so their archives are alike.
func AppendDecision(dir string, key ed25519.PrivateKey, rb *engine.Runbook, ps *engine.PolicySet, in *engine.Input, decide func(prev string) (*engine.Record, error)) (*Entry, error) {
	m, err := in.Map()
	if err != nil {
		return nil, err
	}
	input, err := engine.Canonical(m)
	if err != nil {
		return nil, fmt.Errorf("archive: input: %w", err)
	}
	a, err := OpenOrCreate(dir, in.LaunchID, in.Environment)
	if err != nil {
		return nil, err
	}
	if key != nil {
		a.SignWith(key)
	}
	return a.Append(Blobs{
		Input: input, RunbookSource: rb.Source, RunbookNormalized: rb.Normalized, Policies: ps.Modules(),
	}, decide)
}
