package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Source is one collector run for a gate, with the time it may take.
type Source struct {
	Name      string
	Collector Collector
	Timeout   time.Duration
}

type sourceResult struct {
	source string
	facts  map[string]Fact
}

// CollectAll runs every source concurrently, each under its own timeout and all under the
// overall deadline, and merges their facts. A source that overruns is abandoned: the facts it
// would have produced are missing, which the policies treat as unknown, never as go. Two
// sources producing the same fact is a wiring bug, reported as an error fact.
func CollectAll(ctx context.Context, req Request, deadline time.Duration, sources ...Source) map[string]Fact {
	if deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, deadline)
		defer cancel()
	}
	results := make(chan sourceResult, len(sources))
	var wg sync.WaitGroup
	for _, s := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx := ctx
			if s.Timeout > 0 {
				var cancel context.CancelFunc
				sctx, cancel = context.WithTimeout(ctx, s.Timeout)
				defer cancel()
			}
			results <- sourceResult{s.Name, s.Collector.Collect(sctx, req)}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	merged := map[string]Fact{}
	owner := map[string]string{}
	var got []sourceResult
	// Wait for every source, or for the deadline plus a grace period for those that honour it.
	grace := time.NewTimer(time.Hour)
	defer grace.Stop()
	done := ctx.Done()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				return merge(got, merged, owner)
			}
			got = append(got, r)
		case <-done:
			done = nil
			grace.Reset(500 * time.Millisecond)
		case <-grace.C:
			return merge(got, merged, owner)
		}
	}
}

func merge(got []sourceResult, merged map[string]Fact, owner map[string]string) map[string]Fact {
	sort.Slice(got, func(i, j int) bool { return got[i].source < got[j].source })
	for _, r := range got {
		for name, f := range r.facts {
			if prev, dup := owner[name]; dup {
				f.Err = fmt.Sprintf("fact %s produced by both %s and %s", name, prev, r.source)
				f.Data = nil
			}
			owner[name] = r.source
			merged[name] = f
		}
	}
	return merged
}

// FactsMap renders collected facts as the policy input holds them.
func FactsMap(facts map[string]Fact) map[string]any {
	out := make(map[string]any, len(facts))
	for name, f := range facts {
		out[name] = f.Map()
	}
	return out
}
