package httpx

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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
