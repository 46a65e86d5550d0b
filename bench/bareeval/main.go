// Command bareeval is the baseline of bench/replay.sh: bare prepared OPA evaluation of an
// archive's policies on its inputs, with engine.CompilePolicies and PolicySet.Evaluate in a
// pool of runtime.NumCPU goroutines, no verification, no archive format work.
//
//	go run ./bench/bareeval ARCHIVE
//
// Two timed variants run one after the other. prepared (bare_rate): the distinct inputs
// are decoded once, before timing, and every record's decoded input is then evaluated in
// turn (evaluation only). decode (bare_decode_rate): every record's input blob is read from
// the archive and JSON-decoded before each evaluation, as replay must (replay additionally
// verifies: record JSON and digest, chain, input hash).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/archive"
	"github.com/gatekeeper-dev/gatekeeper/engine"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bareeval ARCHIVE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "bareeval: %v\n", err)
		os.Exit(1)
	}
}

type job struct {
	gate   engine.Gate
	digest string
	input  map[string]any
}

func run(dir string) error {
	ctx := context.Background()
	f, err := os.Open(filepath.Join(dir, archive.RecordsFile))
	if err != nil {
		return err
	}
	defer f.Close()
	blob := func(d string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, archive.ObjectsDir, strings.TrimPrefix(d, "sha256:")))
	}
	inputs := map[string]map[string]any{}
	var ps *engine.PolicySet
	var order []job
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r struct {
			Gate     engine.Gate `json:"gate"`
			Input    string      `json:"input_digest"`
			Policies string      `json:"policies_digest"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		if ps == nil {
			b, err := blob(r.Policies)
			if err != nil {
				return err
			}
			var mods map[string]string
			if err := json.Unmarshal(b, &mods); err != nil {
				return err
			}
			if ps, err = engine.CompilePolicies(ctx, mods); err != nil {
				return err
			}
			if err := ps.Prepare(ctx); err != nil {
				return err
			}
		}
		in, ok := inputs[r.Input]
		if !ok {
			b, err := blob(r.Input)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &in); err != nil {
				return err
			}
			inputs[r.Input] = in
		}
		order = append(order, job{r.Gate, r.Input, in})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	workers := runtime.NumCPU()
	prepared, err := timed(workers, order, func(j job) error {
		_, err := ps.Evaluate(ctx, j.gate, j.input)
		return err
	})
	if err != nil {
		return err
	}
	decode, err := timed(workers, order, func(j job) error {
		b, err := blob(j.digest)
		if err != nil {
			return err
		}
		var in map[string]any
		if err := json.Unmarshal(b, &in); err != nil {
			return err
		}
		_, err = ps.Evaluate(ctx, j.gate, in)
		return err
	})
	if err != nil {
		return err
	}
	n := float64(len(order))
	fmt.Printf("bare_records=%d bare_seconds=%.3f bare_rate=%.1f bare_decode_seconds=%.3f bare_decode_rate=%.1f workers=%d\n",
		len(order), prepared.Seconds(), n/prepared.Seconds(), decode.Seconds(), n/decode.Seconds(), workers)
	return nil
}

// timed runs fn on every job in a pool of workers goroutines and returns the wall time.
func timed(workers int, order []job, fn func(job) error) (time.Duration, error) {
	jobs := make(chan job, 4*workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := fn(j); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range order {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	return time.Since(start), firstErr
}
