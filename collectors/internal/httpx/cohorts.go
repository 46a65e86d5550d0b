package httpx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// Target is one instance to query, with the cohort it belongs to.
type Target struct {
	Cohort   string          // "new" or "old"
	Instance engine.Instance // as the runbook gives it
}

// CohortSet is the cohorts a gate reads instance facts (health, versions) from.
type CohortSet struct {
	Names    []string       // cohort names in order: "new", then "old"
	Replicas map[string]int // expected replicas per cohort
	Targets  []Target       // every instance of those cohorts, in runbook order
}

// Field names the runbook field the instances come from, for provenance:
// "environments.production.cohorts.new.instances".
func (s CohortSet) Field(env string) string {
	parts := make([]string, len(s.Names))
	for i, n := range s.Names {
		parts[i] = fmt.Sprintf("environments.%s.cohorts.%s.instances", env, n)
	}
	return strings.Join(parts, " and ")
}

// InstanceGates are the gates that read per-instance facts: post-deploy reads the new cohort,
// post-rollback every instance of both cohorts (the rollback target must be served everywhere).
var InstanceGates = map[engine.Gate][]string{
	engine.PostDeploy:   {"new"},
	engine.PostRollback: {"new", "old"},
}

// Environment returns the environment a request is about, or an error naming what is missing.
func Environment(req engine.Request) (engine.EnvSpec, error) {
	if req.Runbook == nil {
		return engine.EnvSpec{}, errors.New("no runbook in the request")
	}
	env, ok := req.Runbook.Env(req.Environment)
	if !ok {
		names := make([]string, 0, len(req.Runbook.Spec.Environments))
		for n := range req.Runbook.Spec.Environments {
			names = append(names, n)
		}
		slices.Sort(names)
		return engine.EnvSpec{}, fmt.Errorf("environment %q is not in the runbook (has: %s)", req.Environment, strings.Join(names, ", "))
	}
	return env, nil
}

// Cohorts returns the instances the request's gate reads. The gate must be one of
// InstanceGates; a cohort without instances is an error (the whole source fails).
func Cohorts(req engine.Request, env engine.EnvSpec) (CohortSet, error) {
	names, ok := InstanceGates[req.Gate]
	if !ok {
		return CohortSet{}, fmt.Errorf("gate %q reads no instance facts", req.Gate)
	}
	set := CohortSet{Names: names, Replicas: map[string]int{}}
	for _, n := range names {
		c := env.Cohorts.New
		if n == "old" {
			c = env.Cohorts.Old
		}
		if len(c.Instances) == 0 {
			return CohortSet{}, fmt.Errorf("environments.%s.cohorts.%s has no instances", req.Environment, n)
		}
		set.Replicas[n] = c.Replicas
		for _, in := range c.Instances {
			set.Targets = append(set.Targets, Target{Cohort: n, Instance: in})
		}
	}
	return set, nil
}

// InstanceRun is one concurrent pass over the instances of the cohorts a gate reads.
type InstanceRun struct {
	Set     CohortSet
	Entries []map[string]any // one per Set.Targets, in order
	Query   string           // what was asked, for the fact's provenance
}

// Failed lists the instances whose entry carries an error, with those errors.
func (r InstanceRun) Failed() (names, errs []string) {
	for i, e := range r.Entries {
		if msg, _ := e["error"].(string); msg != "" {
			names = append(names, r.Set.Targets[i].Instance.Name)
			errs = append(errs, msg)
		}
	}
	return names, errs
}

// CollectInstances is the Collect of a per-instance collector (health, versions): at the
// gates that read instances it probes every instance with probe, and returns fact name with
// the data data builds from the run; the fact carries an error when the cohorts cannot be
// resolved or when every instance failed (per-instance failures stay in the entries).
func (c Config) CollectInstances(ctx context.Context, req engine.Request, name, field string,
	probe func(context.Context, Target, Redactor) map[string]any, data func(InstanceRun) map[string]any) map[string]engine.Fact {
	if _, ok := InstanceGates[req.Gate]; !ok {
		return map[string]engine.Fact{}
	}
	start := time.Now()
	fact := engine.Fact{Source: "http", CollectedAt: start}
	run, err := c.ProbeInstances(ctx, req, field, probe)
	fact.Query = run.Query
	if err == nil {
		fact.Data = data(run)
		if names, errs := run.Failed(); len(errs) == len(run.Entries) {
			err = errors.New(AllFailed("instance", names, errs))
		}
	}
	if err != nil {
		fact.Err = fmt.Errorf("collect %s: %w", name, err).Error()
	}
	fact.Duration = time.Since(start)
	return map[string]engine.Fact{name: fact}
}

// ProbeInstances resolves the cohorts req's gate reads and calls probe for every instance
// concurrently; field names the runbook URL being requested (health_url, version_url).
func (c Config) ProbeInstances(ctx context.Context, req engine.Request, field string,
	probe func(context.Context, Target, Redactor) map[string]any) (InstanceRun, error) {
	run := InstanceRun{Query: "GET " + field + " of the instances"}
	env, err := Environment(req)
	if err != nil {
		return run, err
	}
	if run.Set, err = Cohorts(req, env); err != nil {
		return run, err
	}
	run.Query = "GET " + field + " of " + run.Set.Field(req.Environment)
	token, err := c.Token()
	if err != nil {
		return run, err
	}
	red := Redactor{token}
	run.Entries = make([]map[string]any, len(run.Set.Targets))
	Parallel(len(run.Set.Targets), func(i int) {
		run.Entries[i] = probe(ctx, run.Set.Targets[i], red)
	})
	return run, nil
}
