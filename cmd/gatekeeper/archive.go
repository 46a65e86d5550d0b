package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// signingKeyEnv names the environment variable that may hold the signing key itself.
const signingKeyEnv = "GATEKEEPER_SIGNING_KEY"

// archiveTo is where a decision is archived: the directory (empty: nowhere) and the signing
// key file (empty: the key in $GATEKEEPER_SIGNING_KEY, else unsigned).
type archiveTo struct {
	dir, signKey string
}

// signingKey loads the private key from the file or the environment; nil when neither is set.
// The key never appears in an error.
func (t archiveTo) signingKey() (ed25519.PrivateKey, error) {
	var b []byte
	switch {
	case t.signKey != "":
		var err error
		if b, err = os.ReadFile(t.signKey); err != nil {
			return nil, fmt.Errorf("sign key: %w", err)
		}
	case os.Getenv(signingKeyEnv) != "":
		b = []byte(os.Getenv(signingKeyEnv))
	default:
		return nil, nil
	}
	k, err := archive.ParsePrivateKey(b)
	if err != nil {
		src := t.signKey
		if src == "" {
			src = "$" + signingKeyEnv
		}
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return k, nil
}

// decideArchived makes the decision with decide and, when to.dir is set, appends it to the
// launch's archive with its input, runbook and policy set, signed when a key is given. The
// decision is made under the archive's lock so that its prev (and so its decision_id) is the
// archive's last record.
func decideArchived(ctx context.Context, to archiveTo, rb *engine.Runbook, ps *engine.PolicySet, in *engine.Input, decide func(prev string) (*engine.Record, error)) (*engine.Record, error) {
	if to.dir == "" {
		if to.signKey != "" {
			return nil, errors.New("--sign-key needs --archive")
		}
		return decide("")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := to.signingKey()
	if err != nil {
		return nil, err
	}
	e, err := archive.AppendDecision(to.dir, key, rb, ps, in, decide)
	if err != nil {
		return nil, err
	}
	return &e.Record, nil
}
