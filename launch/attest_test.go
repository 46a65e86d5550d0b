package launch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// The next decision after an attestation takes it into account: a rollback call or a failed
// critical manual check rolls back, a hold call holds until resumed.
func TestAttestationsReachTheNextDecision(t *testing.T) {
	t.Parallel()
	key, _, err := archive.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		at    map[int]Attestation // before evaluation n
		exit  int
		evals int
		rule  string
		nogo  int // decisions on hold
	}{
		{name: "rollback call", at: map[int]Attestation{4: {By: "Dana Ortiz", Call: "rollback", Note: "checkout complaints"}},
			exit: engine.ExitRollback, evals: 4, rule: "attest.commander_call"},
		{name: "failed critical manual check", at: map[int]Attestation{3: {By: "Sam Lee", Check: "checkout by hand", Result: "fail", Critical: true}},
			exit: engine.ExitRollback, evals: 3, rule: "attest.manual_checks"},
		{name: "failed minor manual check", at: map[int]Attestation{3: {By: "Sam Lee", Check: "wishlist", Result: "fail"}},
			exit: engine.ExitGo, evals: 21},
		{name: "hold until resumed", at: map[int]Attestation{3: {By: "Dana Ortiz", Call: "hold"}, 6: {By: "Dana Ortiz", Call: "resume"}},
			exit: engine.ExitGo, evals: 21, nogo: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, rbParams{Hooks: allHooks})
			r := f.runner(WithSigningKey(key))
			r.SetCutover(f.clock.Now().Add(-10 * time.Minute))
			f.mutate = func(p engine.Params, n int, facts map[string]any) {
				a, ok := tt.at[n]
				if !ok {
					return
				}
				a.At = p.Now.Add(-time.Second)
				if _, err := Attest(f.archive, key, a); err != nil {
					t.Fatal(err)
				}
			}
			res, err := r.RunWatch(context.Background(), engine.Window, nil)
			if err != nil {
				t.Fatal(err)
			}
			recs := f.records()
			if res.ExitCode != tt.exit || len(recs) != tt.evals {
				t.Fatalf("exit %d after %d evaluations (%s), want %d after %d", res.ExitCode, len(recs), res.Reason, tt.exit, tt.evals)
			}
			if tt.rule != "" && !strings.Contains(res.Reason, tt.rule) {
				t.Errorf("reason %q does not name %s", res.Reason, tt.rule)
			}
			nogo := 0
			for _, e := range recs {
				if e.Decision == engine.NoGo {
					nogo++
				}
			}
			if nogo != tt.nogo {
				t.Errorf("%d decisions on hold, want %d", nogo, tt.nogo)
			}
			if _, err := archive.Verify(f.archive); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAttestRefuses(t *testing.T) {
	t.Parallel()
	key, _, err := archive.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	f, r := watchFixture(t) // an unsigned launch
	if _, err := r.Decide(context.Background(), engine.Window, nil); err != nil {
		t.Fatal(err)
	}
	ok := Attestation{By: "Dana", Call: "hold"}
	tests := []struct {
		name string
		key  bool
		a    Attestation
		want string
	}{
		{"no key", false, ok, "signing key is required"},
		{"no by", true, Attestation{Call: "hold"}, "--by is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := key
			if !tt.key {
				k = nil
			}
			if _, err := Attest(f.archive, k, tt.a); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// An unsigned launch can be attested into: the attestation is signed, and the launch's own
// unsigned decisions after it still verify.
func TestAttestIntoUnsignedLaunch(t *testing.T) {
	t.Parallel()
	key, _, err := archive.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	f, r := watchFixture(t)
	ctx := context.Background()
	if _, err := r.Decide(ctx, engine.Window, nil); err != nil {
		t.Fatal(err)
	}
	e, err := Attest(f.archive, key, Attestation{By: "Dana", Check: "refund works", Result: "pass"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Signature == nil {
		t.Fatal("attestation not signed")
	}
	if _, err := r.Decide(ctx, engine.Window, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Verify(f.archive); err != nil {
		t.Fatalf("unsigned decision after a signed attestation: %v", err)
	}
}
