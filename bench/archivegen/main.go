// Command archivegen bulk-builds a synthetic launch archive for replay benchmarks: records
// cycle over a few example scenarios whose facts vary slightly (K distinct inputs), all
// decided by the built-in policies with the example runbook, written in the archive format
// with a correct hash chain but without per-record fsync.
//
//	go run ./bench/archivegen -n 100000 -o DIR [-variants 512]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// scenarios are the example scenarios the records cycle over.
var scenarios = []string{"healthy__window", "sustained-errors__canary-25", "healthy__post-smoke", "healthy__pre-cutover", "latency-regression__window"}

type variant struct {
	gate   engine.Gate
	step   *int
	now    string
	cutAt  string
	digest string
	res    engine.Result
}

func main() {
	n := flag.Int("n", 100000, "number of records")
	out := flag.String("o", "", "archive directory to create")
	k := flag.Int("variants", 512, "distinct policy inputs")
	root := flag.String("example", "testdata/example", "example launch directory")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "archivegen: -o DIR is required")
		os.Exit(2)
	}
	if err := run(*n, *k, *out, *root); err != nil {
		fmt.Fprintf(os.Stderr, "archivegen: %v\n", err)
		os.Exit(1)
	}
}

func run(n, k int, out, root string) error {
	ctx := context.Background()
	vd := engine.NewValidator()
	rb, err := vd.LoadRunbook(filepath.Join(root, "runbook.yaml"))
	if err != nil {
		return err
	}
	ps, err := engine.LoadPolicies(ctx)
	if err != nil {
		return err
	}
	launch := engine.DefaultLaunchID(rb, "production")
	b, err := archive.CreateBulk(out, launch, "production")
	if err != nil {
		return err
	}
	rbSrc, err := b.PutBlob(rb.Source)
	if err != nil {
		return err
	}
	if _, err := b.PutBlob(rb.Normalized); err != nil {
		return err
	}
	pol, err := engine.Canonical(stringMap(ps.Modules()))
	if err != nil {
		return err
	}
	if _, err := b.PutBlob(pol); err != nil {
		return err
	}
	vs := make([]variant, 0, k)
	for i := 0; i < k; i++ {
		name := scenarios[i%len(scenarios)]
		ff, err := vd.LoadFacts(filepath.Join(root, "scenarios", name+".json"))
		if err != nil {
			return err
		}
		gate, err := engine.ParseGate(ff.Gate)
		if err != nil {
			return err
		}
		now, err := time.Parse(time.RFC3339, ff.Now)
		if err != nil {
			return fmt.Errorf("%s: now: %w", name, err)
		}
		in, err := engine.BuildInput(rb, engine.Params{Gate: gate, Step: ff.Step, Environment: "production", Now: now,
			CutoverAt: ff.CutoverAt, StepStartedAt: ff.StepStartedAt}, ff.Facts)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m, err := in.Map()
		if err != nil {
			return err
		}
		// Vary the facts a little: each source's collection duration.
		if facts, ok := m["facts"].(map[string]any); ok {
			for _, v := range facts {
				if src, ok := v.(map[string]any); ok {
					if _, ok := src["duration_ms"]; ok {
						src["duration_ms"] = i
					}
				}
			}
		}
		data, err := engine.Canonical(m)
		if err != nil {
			return err
		}
		d, err := b.PutBlob(data)
		if err != nil {
			return err
		}
		res, err := ps.Evaluate(ctx, gate, m)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		vs = append(vs, variant{gate: gate, step: in.Step, now: in.Now, cutAt: in.CutoverAt, digest: d, res: res})
	}
	for i := 0; i < n; i++ {
		v := vs[i%len(vs)]
		rec := &engine.Record{
			LaunchID: launch, Environment: "production", Gate: v.gate, Step: v.step,
			Decision: v.res.Decision, Complete: v.res.Complete, Checks: v.res.Checks, Warnings: v.res.Warnings,
			Now: v.now, CutoverAt: v.cutAt, InputDigest: v.digest, RunbookDigest: rb.Digest, PoliciesDigest: ps.Digest(),
			GatekeeperVersion: engine.Version(),
		}
		rec.DecisionID = decisionID(b.Prev(), v.digest, ps.Digest())
		if err := b.Add(rec, rbSrc); err != nil {
			return err
		}
	}
	if err := b.Close(); err != nil {
		return err
	}
	fmt.Printf("archivegen: %d records (%d distinct inputs) in %s\n", n, len(vs), out)
	return nil
}

// decisionID mirrors the engine's derived decision id.
func decisionID(prev, input, policies string) string {
	h := sha256.Sum256([]byte(prev + "\n" + input + "\n" + policies))
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
